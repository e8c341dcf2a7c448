"""
What the API answers to a request it cannot or will not serve: always JSON, never a 500 for
what the client sent. The body parsers bound a body's size and nesting; the content negotiation
refuses a ``format`` or a NUL it cannot serve; Django's error handlers (config/urls.py) answer
JSON under /api/ and keep the site's pages elsewhere.
"""

import io

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import JsonResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, parsers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings
from rest_framework.utils import json

# Our bodies are flat objects of a few fields; far below what would exhaust the parser's stack.
MAX_DEPTH = 32


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"

    def __init__(self):
        super().__init__(too_large_message())


def too_large_message():
    return gettext("The request body is larger than %(size)s; send less at a time.") % {
        "size": filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    }


def read_capped(stream):
    """The body, refused (413) beyond ``DATA_UPLOAD_MAX_MEMORY_SIZE`` as Django refuses a form."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if stream is None:
        return b""
    body = stream.read() if limit is None else stream.read(limit + 1)
    if limit is not None and len(body) > limit:
        raise BodyTooLarge()
    return body


def depth(value):
    """How deeply ``value``'s lists and objects nest (a scalar is 0), counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > MAX_DEPTH:
                return deepest
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with the body's size and nesting bounded, so that no body makes a 500."""

    too_deep = _("The JSON body is nested more than %(depth)s levels deep.")

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        body = read_capped(stream)
        try:
            data = json.loads(body.decode(encoding), parse_constant=json.strict_constant if self.strict else None)
        except RecursionError:
            raise exceptions.ParseError(self.too_deep % {"depth": MAX_DEPTH}) from None
        except ValueError as error:
            raise exceptions.ParseError(gettext("JSON parse error - %(error)s") % {"error": error}) from None
        if depth(data) > MAX_DEPTH:
            raise exceptions.ParseError(self.too_deep % {"depth": MAX_DEPTH})
        return data


class FormParser(parsers.FormParser):
    """DRF's form parser, with the body's size bounded."""

    def parse(self, stream, media_type=None, parser_context=None):
        return super().parse(io.BytesIO(read_capped(stream)), media_type, parser_context)


class ContentNegotiation(DefaultContentNegotiation):
    """
    DRF's, except that a ``format`` the view cannot render (or an empty one) is a 400 naming it
    rather than a 404 or the default. It is the first thing DRF does with a request, so NUL in any
    query value, which no parameter takes, is refused here too.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        errors = {
            name: [gettext("Remove the NUL character from this value.")]
            for name, values in request.query_params.lists()
            if any("\x00" in value for value in values)
        }
        name = api_settings.URL_FORMAT_OVERRIDE
        value = request.query_params.get(name)
        formats = [renderer.format for renderer in renderers]
        if not format_suffix and value is not None and value not in formats:
            errors[name] = [gettext("Choose one of: %(formats)s.") % {"formats": ", ".join(dict.fromkeys(formats))}]
        if errors:
            raise exceptions.ValidationError(errors)
        return super().select_renderer(request, renderers, format_suffix)


def exception_handler(exc, context):
    """DRF's, with the refusal always in JSON: a client that asked for CSV reads an error as one."""
    # Imported here: DRF imports this module while it is still defining its views.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is not None:
        request = context["request"]
        request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
    return response


def is_api(request):
    return request.path.startswith("/api/")


def error_response(request, exception, status_code):
    """Django's refusal of ``request`` as the API's JSON, or ``None`` for a page's own error page."""
    if not is_api(request):
        return None
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse({"detail": too_large_message()}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exception, TooManyFieldsSent):
        detail = gettext("The request sends more than %(count)s parameters.") % {
            "count": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        }
    else:
        detail = {
            400: gettext("The request could not be read."),
            403: gettext("You do not have permission to perform this action."),
            404: gettext("Not found."),
            500: gettext("The server failed to answer; the error has been logged."),
        }[status_code]
    return JsonResponse({"detail": detail}, status=status_code)
