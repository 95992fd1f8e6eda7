"""OpenAPI for views whose input is a query string validated by a serializer."""

from __future__ import annotations

from rest_framework.fields import empty
from rest_framework.schemas.openapi import AutoSchema


class QueryParametersSchema(AutoSchema):
    """Lists the fields of the view's ``query_serializer_class`` as the operation's query
    parameters, so DRF's SchemaGenerator documents them like filter parameters."""

    def get_operation_id(self, path, method):
        # A report, not a list of objects: DRF would name it "list..." (and need inflection).
        return method.lower() + self.get_operation_id_base(path, method, "retrieve")

    def get_filter_parameters(self, path, method):
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
