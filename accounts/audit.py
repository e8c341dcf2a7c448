"""
The audit trail of access: sign-ins, failed sign-ins, lockouts, refused requests and those over a rate, each
one structured log line on the ``tracker.audit`` logger, with the request id. django-axes
also keeps every failed attempt in the database (admin: Axes), which is what it locks on.
"""

import structlog
from axes.signals import user_locked_out
from django.contrib.auth import signals as auth_signals
from django.dispatch import receiver
from django_structlog import signals as structlog_signals
from ipware import get_client_ip

log = structlog.get_logger("tracker.audit")


def _client(request):
    if request is None:
        return None
    address, _ = get_client_ip(request)
    return address


@receiver(auth_signals.user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    log.info("login", user_id=user.pk, username=user.get_username(), ip=_client(request))


@receiver(auth_signals.user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    log.info("logout", user_id=getattr(user, "pk", None), ip=_client(request))


@receiver(auth_signals.user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    # The password is never in ``credentials`` here: Django masks it before sending.
    log.warning("login_failed", username=credentials.get("username"), ip=_client(request))


@receiver(user_locked_out)
def _locked_out(sender, request, username, ip_address, **kwargs):
    log.warning("account_locked", username=username, ip=ip_address)


@receiver(structlog_signals.bind_extra_request_finished_metadata)
def _refused(sender, request, logger, response, log_kwargs, **kwargs):
    # Whatever refused it (a view, the admin, the API), a 401 or 403 is an access decision; so is a 429: a locked
    # account, an address past the sign-in rate, a token past the API's.
    event = {401: "permission_denied", 403: "permission_denied", 429: "too_many_requests"}.get(response.status_code)
    if event is not None:
        user = getattr(request, "user", None)
        log.warning(
            event,
            status=response.status_code,
            path=request.path,
            method=request.method,
            user_id=getattr(user, "pk", None),
            ip=_client(request),
        )
    # The id that every line of this request carries, handed back so a report can quote it.
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id:
        response["X-Request-ID"] = request_id
