"""
The spreadsheet round-trip of a State's self-report, and the analysts' bulk import of
assessed ratings: download, upload, preview, confirm. The work is in the spreadsheets package,
run in the background by ``implementation/tasks.py``: an upload's page says how far it got.
Who may read a State is ``MemberState.objects.visible_to``, who may report for it
``workflow.may_submit``.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from states.models import is_analyst

from .. import spreadsheets, tasks, workflow
from ..access import get_visible_state_or_404
from ..exports import CONTENT_TYPES, export_response, safe_filename
from ..models import StagedUpload


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Spreadsheet"),
        help_text=gettext_lazy(
            "The XLSX workbook you downloaded, filled in, or a CSV file with the same columns (UTF-8). At most 5 MB."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )


@login_required
def my_state_spreadsheet(request, iso3):
    state = get_visible_state_or_404(request, iso3)
    if not (is_analyst(request.user) or workflow.may_submit(request.user, state)):
        raise PermissionDenied(
            _("Only the focal points of %(state)s and CTED analysts download its spreadsheet.") % {"state": state}
        )
    response = HttpResponse(spreadsheets.workbook_for(state), content_type=CONTENT_TYPES["xlsx"])
    filename = safe_filename(f"{state.iso3}-self-report-{timezone.localdate():%Y-%m-%d}", "xlsx")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def my_state_upload(request, iso3):
    state = get_visible_state_or_404(request, iso3)
    _require_focal_point(request.user, state)
    uploads = StagedUpload.objects.of(request.user).filter(kind=StagedUpload.Kind.SELF_REPORT, state=state)
    return _upload(
        request,
        "implementation/upload.html",
        uploads,
        {"state": state},
        receive={"kind": StagedUpload.Kind.SELF_REPORT, "state": state},
    )


@login_required
def my_state_upload_preview(request, iso3, pk):
    state = get_visible_state_or_404(request, iso3)
    _require_focal_point(request.user, state)
    staged = (
        StagedUpload.objects.of(request.user)
        .filter(pk=pk, kind=StagedUpload.Kind.SELF_REPORT, state=state)
        .defer("file")
        .first()
    )
    if staged is None:
        return _gone(request, "my_state_upload", iso3=state.iso3)
    return _status(request, "implementation/upload_preview.html", staged, {"state": state})


@login_required
def bulk_import(request):
    _require_analyst(request.user)
    context = {
        # The columns as the page names them, in the reader's language, as the workbook does.
        "columns": spreadsheets.COLUMN_BY_FIELD,
        "optional_columns": [
            column.header
            for column in spreadsheets.COLUMNS
            if column.field not in spreadsheets.REQUIRED_FIELDS and not column.informative
        ],
        "sheet": spreadsheets.SHEET,
    }
    uploads = StagedUpload.objects.of(request.user).filter(kind=StagedUpload.Kind.ASSESSED)
    receive = {"kind": StagedUpload.Kind.ASSESSED, "state": None}
    return _upload(request, "implementation/bulk_import.html", uploads, context, receive=receive)


@login_required
def bulk_import_preview(request, pk):
    _require_analyst(request.user)
    staged = StagedUpload.objects.of(request.user).filter(pk=pk, kind=StagedUpload.Kind.ASSESSED).defer("file").first()
    if staged is None:
        return _gone(request, "bulk_import")
    return _status(request, "implementation/bulk_import_preview.html", staged, {})


def _upload(request, template, uploads, context, *, receive):
    """The upload page, with the uploader's uploads kept; a file posted is kept and checked in the background."""
    form = UploadForm(request.POST or None, request.FILES or None)
    refused = None
    if request.method == "POST" and form.is_valid():
        try:
            staged = tasks.receive_upload(upload=form.cleaned_data["file"], by=request.user, **receive)
        except spreadsheets.UploadRefused as error:
            refused = error
        else:
            return redirect(_status_url(staged))
    context = {**context, "form": form, "refused": refused, "uploads": uploads.listed()}
    status = 400 if request.method == "POST" else 200
    return render(request, template, context, status=status)


def _status(request, preview_template, staged, context):
    """
    An upload's page: its preview with the button that confirms it once checked; while a task works on it, how far it
    got, refreshed every few seconds; the problems that refused it, what failed, or what it applied. ``staged`` comes
    without its file (up to 5 MB), which the page never shows and would read again at each refresh.
    """
    if request.method == "POST":
        if not tasks.confirm_upload(staged):
            # The second of two confirmations: what the first one did.
            staged.refresh_from_db(fields=["status"])
            messages.warning(request, _already_confirmed(staged))
        return redirect(request.path)
    if staged.status == StagedUpload.Status.READY:
        return _preview(request, preview_template, staged, context)
    if request.GET.get("format") is not None and staged.rows:
        return _preview(request, preview_template, staged, context)
    context = {
        **context,
        "staged": staged,
        "Status": StagedUpload.Status,
        "upload_url": _upload_url(staged),
        "refused": spreadsheets.UploadRefused.from_json(staged.problems, staged.problem_count)
        if staged.status == StagedUpload.Status.REFUSED
        else None,
        "applied": _applied_message(staged) if staged.status == StagedUpload.Status.APPLIED else "",
    }
    return render(request, "implementation/upload_status.html", context)


def _status_url(staged):
    if staged.kind == StagedUpload.Kind.SELF_REPORT:
        return reverse("my_state_upload_preview", args=[staged.state.iso3, staged.pk])
    return reverse("bulk_import_preview", args=[staged.pk])


def _upload_url(staged):
    if staged.kind == StagedUpload.Kind.SELF_REPORT:
        return reverse("my_state_upload", args=[staged.state.iso3])
    return reverse("bulk_import")


def _already_confirmed(staged):
    if staged.status == StagedUpload.Status.APPLYING:
        return _("This upload is already being applied: it was confirmed once, and is applied once.")
    if staged.status == StagedUpload.Status.APPLIED:
        return _("This upload was applied already: it was confirmed once, and was applied once.")
    return _("This upload cannot be confirmed now: it is not ready.")


def _applied_message(staged):
    count = staged.applied_count
    if staged.kind == StagedUpload.Kind.SELF_REPORT:
        message = ngettext(
            "%(count)s submission sent for review from %(file)s. A CTED analyst will accept or return it.",
            "%(count)s submissions sent for review from %(file)s. A CTED analyst will accept or return each.",
            count,
        )
    else:
        message = ngettext(
            "%(count)s assessed rating set from %(file)s.", "%(count)s assessed ratings set from %(file)s.", count
        )
    return message % {"count": formats.number_format(count, force_grouping=True), "file": staged.file_name}


def _preview(request, template, staged, context):
    """The preview page, or with ``?format=csv|xlsx`` every change it lists, for a file too long to show whole."""
    fmt = request.GET.get("format")
    if fmt is not None:
        try:
            return export_response(spreadsheets.changes_table(staged), fmt, f"changes-{staged.file_name}")
        except ValueError as error:
            return HttpResponseBadRequest(str(error))
    context = {**context, "staged": staged, "preview": spreadsheets.preview(staged)}
    return render(request, template, context)


def _gone(request, upload_page, **kwargs):
    # An upload replaced by a later one, or deleted after a day; someone else's reads the same.
    messages.warning(
        request,
        _(
            "This upload is no longer kept: it was replaced by a later upload, or kept for a day and then deleted. "
            "Check what it changed before uploading the file again."
        ),
    )
    return redirect(upload_page, **kwargs)


def _require_focal_point(user, state):
    if not workflow.may_submit(user, state):
        raise PermissionDenied(
            _(
                "Only a focal point of %(state)s uploads its spreadsheet. CTED analysts set assessed ratings through "
                "the bulk import."
            )
            % {"state": state}
        )


def _require_analyst(user):
    if not is_analyst(user):
        raise PermissionDenied(_("Only CTED analysts import assessed ratings."))
