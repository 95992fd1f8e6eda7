"""OpenAPI of the endpoints: each one's query string, validated by its ``query_serializer_class``,
listed as its query parameters."""

from __future__ import annotations

from rest_framework.fields import empty
from rest_framework.schemas.openapi import AutoSchema


class QueryParametersSchema(AutoSchema):
    """Lists the fields of the view's ``query_serializer_class`` (none when it is None) as the
    operation's query parameters, so DRF's SchemaGenerator documents them like filter parameters."""

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

    def get_responses(self, path, method):
        # One document (a report, a page, Prometheus text, the dashboard), never the array of
        # objects DRF assumes for a GET without path variables.
        self.response_media_types = self.map_renderers(path, method)
        content = {media: {"schema": {}} for media in self.response_media_types}
        return {"200": {"description": "", "content": content}}
