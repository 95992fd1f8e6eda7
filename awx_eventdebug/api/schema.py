"""OpenAPI of the endpoints: each one's query string, validated by its ``query_serializer_class``,
listed as its query parameters; its document, declared by the return annotation of its
``document`` function (a TypedDict of the feature's params.py), as its 200 response; and the
refusals the base view answers (api/base.py) in AWX's shape."""

from __future__ import annotations

from datetime import datetime
from types import FunctionType, NoneType, UnionType
from typing import Annotated, Literal, NotRequired, Union, get_args, get_origin, get_type_hints

from rest_framework.fields import empty
from rest_framework.schemas.openapi import AutoSchema

from ..jsondoc import IDENTIFIERS, UNIT_SUFFIXES, says_unit

SCALARS = {
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    datetime: {"type": "string", "format": "date-time"},
}
# The units among jsondoc.UNIT_SUFFIXES as a description says them; the others are what a count
# counts ("count" and "total" only say it is one).
UNITS = {
    "seconds": "seconds",
    "milliseconds": "milliseconds",
    "minutes": "minutes",
    "percent": "percent (0-100)",
    "ratio": "ratio (0-1)",
    "share": "share (0-1)",
    "bytes": "bytes",
    "per_second": "per second",
    "per_minute": "per minute",
}
COUNTS_ONLY = ("count", "total")


def unit_text(name: str) -> str:
    """What a number named ``name`` (or each number of a map or list so named) is measured in,
    from the unit its name ends with (docs/architecture.md, "Units in every document")."""
    if name in IDENTIFIERS and name not in COUNTS_ONLY:
        return ""
    said = [suffix for suffix in UNIT_SUFFIXES if says_unit(name, suffix)]
    units = [UNITS[suffix] for suffix in said if suffix in UNITS]
    counted = [
        suffix.replace("_", " ") for suffix in said if suffix not in UNITS and suffix not in COUNTS_ONLY
    ]
    if units:  # a rate says what it counts: drops_per_minute is "drops per minute"
        rate = [suffix for suffix in said if suffix in UNITS and suffix.startswith("per_")]
        return f"Unit: {counted[0]} {UNITS[rate[0]]}." if rate and counted else f"Unit: {units[0]}."
    if counted:
        return f"Unit: {counted[0]} (a count)."
    return "Unit: a count." if said else ""


def numeric(schema: dict) -> bool:
    """Whether ``schema`` holds numbers: a number, or a map or list of them."""
    inner = schema.get("additionalProperties") or schema.get("items")
    return schema.get("type") in ("integer", "number") or isinstance(inner, dict) and numeric(inner)


def with_keywords(schema: dict, **keywords) -> dict:
    """``schema`` with more keywords; a reference wrapped, as OpenAPI 3.0 ignores a $ref's siblings."""
    return {"allOf": [schema], **keywords} if "$ref" in schema else {**schema, **keywords}


class DocumentSchemas:
    """Python annotations as OpenAPI 3.0 schemas: int, float, str, bool, datetime, ``X | None``
    (nullable), ``A | B`` (anyOf), Literal (enum), list, dict[str, X] (a map), ``Annotated[X,
    "description"]``, a function returning the type (a part whose fields the hop registry
    gives), and TypedDicts, each a component: its docstring, its fields (NotRequired: may be
    absent), no others. A number's description says the unit its name ends with, unless it says
    one already ("Unit: ...")."""

    def __init__(self):
        self.components: dict[str, dict] = {}
        self._declared: dict[str, type] = {}
        self._made: dict[FunctionType, type] = {}

    def schema(self, hint) -> dict:
        if isinstance(hint, FunctionType):
            if hint not in self._made:  # one part however many fields it types
                self._made[hint] = hint()
            hint = self._made[hint]
        origin, args = get_origin(hint), get_args(hint)
        if origin is Annotated:
            return with_keywords(self.schema(args[0]), description=args[1])
        if origin in (Union, UnionType):
            options = [self.schema(arg) for arg in args if arg is not NoneType]
            schema = options[0] if len(options) == 1 else {"anyOf": options}
            return with_keywords(schema, nullable=True) if NoneType in args else schema
        if origin is Literal:
            return {"type": "string", "enum": list(args)}
        if origin is list:
            return {"type": "array", "items": self.schema(args[0])}
        if origin is dict:
            return {"type": "object", "additionalProperties": self.schema(args[1])}
        if hint in SCALARS:
            return dict(SCALARS[hint])
        return self.component(hint)

    def component(self, typed) -> dict:
        name = typed.__name__
        if self._declared.setdefault(name, typed) is not typed:  # one component name, two parts
            raise TypeError(f"two document parts are named {name}: {typed} and {self._declared[name]}")
        if name not in self.components:
            properties, required = {}, []
            for field, hint in get_type_hints(typed, include_extras=True).items():
                if get_origin(hint) is NotRequired:
                    hint = get_args(hint)[0]
                else:
                    required.append(field)
                properties[field] = self.field(field, hint)
            described = {"description": " ".join(typed.__doc__.split())} if typed.__doc__ else {}
            self.components[name] = {
                "type": "object",
                **described,
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            }
        return {"$ref": f"#/components/schemas/{name}"}

    def field(self, name: str, hint) -> dict:
        """A field's schema, its description saying the unit its name gives its numbers."""
        schema = self.schema(hint)
        described = schema.get("description", "")
        unit = unit_text(name) if numeric(schema) else ""
        if unit and "Unit:" not in described:
            text = f"{described.rstrip('.')}. {unit}" if described else unit
            schema = with_keywords(schema, description=text)
        return schema


# The refusals the base view answers (api/base.py), in AWX's shape, as components by name.
REFUSAL_SCHEMAS = {
    "Detail": {
        "type": "object",
        "description": "Why DRF refused the request.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
        "additionalProperties": False,
    },
    "Refusal": {
        "type": "object",
        "description": "What the app could not do, and what to do about it (errors.py).",
        "properties": {"detail": {"type": "string"}, "hint": {"type": "string"}},
        "required": ["detail"],
        "additionalProperties": False,
    },
    # DRF's 400: each bad parameter's messages; a list parameter's by the index of the bad value.
    "FieldErrors": {
        "type": "object",
        "description": "Each invalid query parameter's messages, by its name.",
        "additionalProperties": {
            "anyOf": [
                {"type": "array", "items": {"type": "string"}},
                {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            ]
        },
    },
}
REFUSALS = {
    "400": ("An invalid query parameter.", "FieldErrors"),
    "401": ("Not authenticated: AWX's Bearer challenge.", "Detail"),
    "403": ("Not a system administrator or auditor (EVENTDEBUG['PERMISSION_CLASSES']).", "Detail"),
    "404": ("What the query names does not exist.", "Refusal"),
    "503": (
        "Something the answer needs is missing or unreachable: a table, Redis, the database, a "
        "statement over STATEMENT_TIMEOUT, settings the app cannot use.",
        "Refusal",
    ),
}
JSON = "application/json"
PAGE = "text/html"


class EndpointSchema(AutoSchema):
    """Lists the fields of the view's ``query_serializer_class`` (none when it is None) as the
    operation's query parameters, so DRF's SchemaGenerator documents them like filter
    parameters; its document as its 200 response, and its refusals."""

    def get_operation_id(self, path, method):
        # A report, not a list of objects: DRF would name it "list..." (and need inflection).
        return method.lower() + self.get_operation_id_base(path, method, "retrieve")

    def get_path_parameters(self, path, method):
        # No route of the app has path variables; DRF would need uritemplate, which AWX does not
        # ship, only to find that out.
        return []

    def get_filter_parameters(self, path, method):
        if self.view.query_serializer_class is None:
            return []
        parameters = []
        for name, field in self.view.query_serializer_class().fields.items():
            schema = self.map_field(field)
            if field.default is not empty:
                schema["default"] = field.default
            parameters.append(
                {
                    "name": name,
                    "in": "query",
                    "required": field.required,
                    "description": str(field.help_text or ""),
                    "schema": schema,
                }
            )
        return parameters

    def document_schemas(self) -> tuple[dict | None, dict]:
        """The schema of the view's document and the components it refers to; (None, {}) for a
        view without one (its answer is text: the dashboard, Prometheus)."""
        document = getattr(self.view, "document", None)
        if document is None:
            return None, {}
        schemas = DocumentSchemas()
        schema = schemas.schema(get_type_hints(document)["return"])
        return schema, schemas.components

    def get_components(self, path, method):
        return {**self.document_schemas()[1], **REFUSAL_SCHEMAS}

    def get_responses(self, path, method):
        # One document (a report, a page, Prometheus text, the dashboard), never the array of
        # objects DRF assumes for a GET without path variables.
        self.response_media_types = self.map_renderers(path, method)
        schema = self.document_schemas()[0] or {"type": "string"}
        responses = {"200": self.response("", schema)}
        if self.response_media_types == [PAGE]:
            return responses  # a browser's page: its refusals are pages and redirects too
        answered = {"401", "403", "503"}
        if self.get_filter_parameters(path, method):
            answered.add("400")
        if self.view.finds_jobs:
            answered.add("404")
        for status, (description, name) in REFUSALS.items():
            if status in answered:
                responses[status] = self.response(description, {"$ref": f"#/components/schemas/{name}"})
        return responses

    def response(self, description: str, schema: dict) -> dict:
        """A response in each of the view's media types: ``schema`` in JSON, text in the others
        (a page, a Prometheus comment line)."""
        content = {
            media: {"schema": schema if media == JSON else {"type": "string"}}
            for media in self.response_media_types
        }
        return {"description": " ".join(description.split()), "content": content}
