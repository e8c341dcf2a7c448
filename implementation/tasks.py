"""
The background work of an upload (``StagedUpload``): checking the file and building its preview, then, once its
uploader confirms, applying it. Queued in the database (``django_tasks_db``) and run by ``manage.py db_worker``, so
the request that receives a file or a confirmation answers at once, and any server can show how far it got.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.tasks import task
from django.utils import translation
from django.utils.translation import gettext_lazy

from . import spreadsheets
from .models import StagedUpload

logger = logging.getLogger(__name__)


@transaction.atomic
def receive_upload(*, kind, state, upload, by):
    """
    Keep ``upload`` (a file of at most ``MAX_UPLOAD_BYTES``, or ``UploadRefused``) and queue its check. The upload and
    its task are written together: a worker never meets one without the other.
    """
    spreadsheets.refuse_if_too_large(upload)
    upload.seek(0)
    staged = StagedUpload.objects.receive(
        kind=kind,
        state=state,
        file_name=upload.name,
        content=upload.read(),
        by=by,
        language=translation.get_language() or "",
    )
    check_upload.enqueue(staged.pk)
    return staged


@transaction.atomic
def confirm_upload(staged):
    """Queue the application of ``staged`` if it is ready; False if it was confirmed already (or is not ready)."""
    if not staged.confirm():
        return False
    apply_upload.enqueue(staged.pk)
    return True


@task
def check_upload(upload_id):
    """Read and check an upload, and build its preview; or refuse it, saying why."""
    staged = StagedUpload.objects.select_related("state", "uploaded_by").filter(pk=upload_id).first()
    # Gone (replaced by a later upload) or taken by another worker: nothing to do.
    if staged is None or not staged.start_checking():
        return
    _run(staged, lambda: spreadsheets.stage(staged, progress=staged.report_progress), CHECK_FAILED)


@task
def apply_upload(upload_id):
    """Apply a confirmed upload in one transaction; or, if a rating changed since its preview, refuse all of it."""
    staged = (
        StagedUpload.objects.select_related("uploaded_by")
        .filter(pk=upload_id, status=StagedUpload.Status.APPLYING)
        .defer("rows")
        .first()
    )
    if staged is None:
        return
    # One transaction (spreadsheets.apply_*): if anything fails, nothing of the file is written.
    _run(staged, lambda: spreadsheets.apply(staged), APPLY_FAILED)


CHECK_FAILED = gettext_lazy(
    "Checking the file stopped on an unexpected error, and nothing was applied. Upload it again; if it fails again, "
    "tell the site's administrators, giving them the reference U-%(id)s."
)
APPLY_FAILED = gettext_lazy(
    "Applying the file stopped on an unexpected error, and nothing was applied. Upload it again; if it fails again, "
    "tell the site's administrators, giving them the reference U-%(id)s."
)


def _run(staged, work, failure):
    """``work()``, in the uploader's language; a refusal or a failure is kept with ``staged`` for its page to show."""
    with translation.override(staged.language or None):
        try:
            work()
        except spreadsheets.UploadRefused as refused:
            staged.refuse(problems=refused.as_json(), count=refused.total)
        except PermissionDenied as denied:
            # The uploader lost the role that let them upload since.
            staged.refuse(problems=[spreadsheets.Problem(str(denied)).as_json()], count=1)
        except Exception:
            logger.exception("Upload U-%s (%s) failed while %s", staged.pk, staged.file_name, staged.status)
            staged.fail(str(failure) % {"id": staged.pk})
