import sys

import structlog
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
from django.views.decorators.cache import never_cache

from implementation.api.errors import error_response

log = structlog.get_logger("tracker.health")


@never_cache
def healthz(request):
    """For load balancers: 200 when this app server can query the database, 503 when it cannot."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        # Close it, so that the next request opens a fresh connection once the database is back.
        connection.close_if_unusable_or_obsolete()
        return JsonResponse({"status": "unavailable", "database": type(error).__name__}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def server_error(request):
    """
    The 500 handler (``handler500``). Django calls it while handling the exception, so the
    exception is at hand: a database outage answers 503 with a page saying to retry, since
    nothing is wrong with the request and connections are checked before reuse, so the
    next request after the database returns succeeds. Anything else is a 500.
    """
    exception = sys.exc_info()[1]
    if isinstance(exception, (OperationalError, InterfaceError)):
        log.warning("database_unavailable", error=type(exception).__name__, path=request.path)
        connection.close_if_unusable_or_obsolete()
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
        response["Retry-After"] = "30"
        return response
    return error_response(request, exception, 500) or HttpResponseServerError(loader.render_to_string("500.html"))
