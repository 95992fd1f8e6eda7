"""A JSON value checked against an OpenAPI 3.0 schema: the part of the vocabulary GET schema/
writes (api/schema.py): type, format date-time, enum, nullable, properties, required,
additionalProperties, items, allOf, anyOf, $ref to components."""

from __future__ import annotations

from datetime import datetime

TYPES = {
    "boolean": lambda value: isinstance(value, bool),
    "integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "number": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
    "string": lambda value: isinstance(value, str),
    "array": lambda value: isinstance(value, list),
    "object": lambda value: isinstance(value, dict),
}


class Validator:
    """Checks values against the schemas of one OpenAPI document; ``seen`` collects the
    components a value was checked against, so a sweep can tell what its data never reached."""

    def __init__(self, document: dict):
        self.components = document.get("components", {}).get("schemas", {})
        self.seen: set[str] = set()

    def mismatches(self, value, schema: dict, where: str = "") -> list[str]:
        """Where ``value`` departs from ``schema``: a field it does not document, a required field
        absent, a value of another type; [] when it matches."""
        if value is None:
            return [] if schema.get("nullable") else [f"{where or '.'}: null, which is not nullable"]
        if "$ref" in schema:
            name = schema["$ref"].removeprefix("#/components/schemas/")
            self.seen.add(name)
            return self.mismatches(value, self.components[name], where)
        if "allOf" in schema:
            return [found for part in schema["allOf"] for found in self.mismatches(value, part, where)]
        if "anyOf" in schema:
            # The closest option's mismatches; a value matching one matches.
            tried = [self.mismatches(value, option, where) for option in schema["anyOf"]]
            return min(tried, key=len)
        kind = schema["type"]
        if not TYPES[kind](value):
            return [f"{where or '.'}: {value!r} is not of type {kind}"]
        if "enum" in schema and value not in schema["enum"]:
            return [f"{where}: {value!r} is not one of {schema['enum']}"]
        if schema.get("format") == "date-time":
            try:
                datetime.fromisoformat(value)
            except ValueError:
                return [f"{where}: {value!r} is not a date-time"]
        if kind == "array":
            return [found for item in value for found in self.mismatches(item, schema["items"], f"{where}[]")]
        if kind == "object":
            return self.object_mismatches(value, schema, where)
        return []

    def object_mismatches(self, value: dict, schema: dict, where: str) -> list[str]:
        properties = schema.get("properties", {})
        others = schema.get("additionalProperties", True)
        found = [
            f"{where}.{name}: required, absent" for name in schema.get("required", ()) if name not in value
        ]
        for name, item in value.items():
            if name in properties:
                found += self.mismatches(item, properties[name], f"{where}.{name}")
            elif isinstance(others, dict):
                found += self.mismatches(item, others, f"{where}.{name}")
            elif others is False:
                found.append(f"{where}.{name}: not documented")
        return found
