"""
The OpenAPI schema's description of each operation (``DEFAULT_SCHEMA_CLASS``): what
drf-spectacular finds, plus the refusals every endpoint can answer, so that the schema
lists every status code a client may meet.
"""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_array_type, build_basic_type, build_object_type
from drf_spectacular.types import OpenApiTypes

# The bodies of refusals: {"detail": "..."}, or for bad input the messages by field.
DETAIL = build_object_type(properties={"detail": build_basic_type(OpenApiTypes.STR)}, required=["detail"])
FIELD_ERRORS = build_object_type(
    additionalProperties=build_array_type(build_basic_type(OpenApiTypes.STR)),
    description="Messages by query parameter or field name.",
)
# A body that cannot be parsed at all is refused with a "detail", like the other refusals.
BAD_REQUEST = {"anyOf": [FIELD_ERRORS, DETAIL]}
ERRORS = {
    "400": (BAD_REQUEST, "A query parameter or field is not valid, or the body could not be read."),
    "401": (DETAIL, "No credentials, or a token that is not valid."),
    "403": (DETAIL, "Your account has no role in the tracker, or may not do this."),
    "404": (DETAIL, "No such record among those you may read, or no such page."),
}


class ApiSchema(AutoSchema):
    """drf-spectacular's schema, with the refusals each operation can answer."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = ["401", "403", "404"]
        if self._has_filters() or self.method != "GET":
            codes.append("400")
        for code in codes:
            schema, description = ERRORS[code]
            responses.setdefault(code, {**self._get_response_for_code(schema, code), "description": description})
        return dict(sorted(responses.items()))

    def _has_filters(self):
        return bool(getattr(self.view, "filterset_class", None) or getattr(self.view, "filterset_fields", None))
