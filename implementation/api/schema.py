"""
The OpenAPI schema's description of each operation (``DEFAULT_SCHEMA_CLASS``): what
drf-spectacular finds, plus the refusals every endpoint can answer, so that the schema
lists every status code a client may meet.
"""

from django.utils import timezone
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_array_type, build_basic_type, build_object_type
from drf_spectacular.types import OpenApiTypes

from ..filters import StateFilter, readable_states

# The bodies of refusals: {"detail": "..."}, or for bad input the messages by field.
DETAIL = build_object_type(properties={"detail": build_basic_type(OpenApiTypes.STR)}, required=["detail"])
FIELD_ERRORS = build_object_type(
    additionalProperties=build_array_type(build_basic_type(OpenApiTypes.STR)),
    description="Messages by query parameter or field name.",
)
# A body that cannot be parsed at all is refused with a "detail", like the other refusals.
BAD_REQUEST = {"anyOf": [FIELD_ERRORS, DETAIL]}
# ?format=csv or Accept: text/csv: the page's rows as a spreadsheet (renderers.py), not the JSON's shape.
CSV = {
    "type": "string",
    "description": "UTF-8 CSV with a byte-order mark: a header row of dotted field names, then one row per result.",
}
ERRORS = {
    "400": (
        BAD_REQUEST,
        "A parameter or field is not valid, or the body could not be read or nests too deeply.",
    ),
    "401": (DETAIL, "No credentials, or a token that is not valid."),
    "403": (DETAIL, "Your account has no role in the tracker, or may not do this."),
    "404": (DETAIL, "No such record among those you may read, or no such page."),
    "413": (DETAIL, "The body is larger than the server accepts."),
}
# Every parameter refuses these (errors.py, defaults.py); the schema says so, so that a client need not guess.
NO_NUL = "^[^\\x00]*$"
NOT_IN_THE_FUTURE = {"as_of": "Today or an earlier day."}


class ApiSchema(AutoSchema):
    """drf-spectacular's schema, with the refusals each operation can answer."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        # Every operation refuses a bad ``format`` or NUL in the query (400); bodies may be too large (413).
        codes = ["400", "401", "403", "404"]
        if self.method != "GET":
            codes.append("413")
        for code in codes:
            schema, description = ERRORS[code]
            responses.setdefault(code, {**self._get_response_for_code(schema, code), "description": description})
        for code, response in responses.items():
            content = response.get("content", {})
            if "text/csv" in content:
                # Refusals are always JSON (errors.py), whatever format was asked for.
                if code.startswith("2"):
                    content["text/csv"] = {"schema": CSV}
                else:
                    del content["text/csv"]
        return dict(sorted(responses.items()))

    def _get_filter_parameters(self):
        parameters = super()._get_filter_parameters()
        states = self._readable_state_codes()
        for parameter in parameters:
            if parameter["name"] in states:
                # Each reader's schema lists the States they may name: any other is refused as unknown.
                parameter["schema"] = {**parameter.get("schema", {}), "enum": states[parameter["name"]]}
                continue
            schema = parameter.get("schema", {})
            # An empty filter is refused in the API (defaults.FilterBackend), and so is NUL.
            if schema.get("type") == "string":
                schema["minLength"] = 1
                if "enum" not in schema and "format" not in schema:
                    schema["pattern"] = NO_NUL
            if parameter["name"] in NOT_IN_THE_FUTURE:
                schema["pattern"] = dates_up_to(timezone.localdate())
                parameter["description"] = f"{parameter.get('description', '')} {NOT_IN_THE_FUTURE[parameter['name']]}"
        return parameters

    def _get_pagination_parameters(self):
        parameters = super()._get_pagination_parameters()
        for parameter in parameters:
            if parameter["name"] == "page_size":
                parameter["schema"]["minimum"] = 1
        return parameters

    def _readable_state_codes(self):
        """The ISO3 codes each State filter of this view accepts from the reader asking for the schema."""
        filterset_class = getattr(self.view, "filterset_class", None)
        request = getattr(self.view, "request", None)
        if filterset_class is None or request is None:
            return {}
        names = [name for name, field in filterset_class.base_filters.items() if isinstance(field, StateFilter)]
        if not names:
            return {}
        codes = sorted(readable_states(request).values_list("iso3", flat=True))
        # An empty enum is not valid OpenAPI; a reader with no State to name keeps the plain parameter.
        return {name: codes for name in names} if codes else {}


def _digits_up_to(digits, *, inclusive):
    """A pattern of the strings of as many digits as ``digits`` that come before it (or are it, if ``inclusive``)."""
    choices = [digits] if inclusive else []
    for index, digit in enumerate(digits):
        if digit != "0":
            rest = len(digits) - index - 1
            choices.append(digits[:index] + f"[0-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    return "|".join(choices)


def dates_up_to(day):
    """A pattern of the ISO dates up to ``day``: how the schema says "not in the future" to a client."""
    year, month, date = f"{day:%Y}", f"{day:%m}", f"{day:%d}"
    branches = [
        rf"(?:{_digits_up_to(year, inclusive=False)})-\d{{2}}-\d{{2}}" if year != "0000" else "",
        rf"{year}-(?:{_digits_up_to(month, inclusive=False)})-\d{{2}}",
        rf"{year}-{month}-(?:{_digits_up_to(date, inclusive=True)})",
    ]
    return "^(?:" + "|".join(branch for branch in branches if branch) + ")$"
