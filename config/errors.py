"""Django's error handlers (config/urls.py): the API's JSON under /api/, the site's pages elsewhere."""

from django.views import defaults

from implementation.api.errors import error_response


def bad_request(request, exception):
    return error_response(request, exception, 400) or defaults.bad_request(request, exception)


def permission_denied(request, exception):
    return error_response(request, exception, 403) or defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    return error_response(request, exception, 404) or defaults.page_not_found(request, exception)
