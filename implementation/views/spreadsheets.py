"""
The spreadsheet round-trip of a State's self-report, and the analysts' bulk import of
assessed ratings: download, upload, preview, confirm. The work is in the spreadsheets package;
who may read a State is ``MemberState.objects.visible_to``, who may report for it
``workflow.may_submit``.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from states.models import is_analyst

from .. import spreadsheets, workflow
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
    form = UploadForm(request.POST or None, request.FILES or None)
    refused = None
    if request.method == "POST" and form.is_valid():
        try:
            staged = spreadsheets.stage_self_report(state=state, upload=form.cleaned_data["file"], by=request.user)
        except spreadsheets.UploadRefused as error:
            refused = error
        else:
            return redirect("my_state_upload_preview", iso3=state.iso3, pk=staged.pk)
    context = {"state": state, "form": form, "refused": refused}
    status = 400 if request.method == "POST" else 200
    return render(request, "implementation/upload.html", context, status=status)


@login_required
def my_state_upload_preview(request, iso3, pk):
    state = get_visible_state_or_404(request, iso3)
    _require_focal_point(request.user, state)
    staged = (
        StagedUpload.objects.of(request.user).filter(pk=pk, kind=StagedUpload.Kind.SELF_REPORT, state=state).first()
    )
    if staged is None:
        return _gone(request, "my_state_upload", iso3=state.iso3)
    if request.method == "POST":
        try:
            count = spreadsheets.apply_self_report(staged, by=request.user)
        except spreadsheets.UploadRefused as refused:
            context = {"state": state, "refused": refused}
            return _preview(request, "implementation/upload_preview.html", staged, context, status=409)
        messages.success(
            request,
            ngettext(
                "%(count)s submission sent for review from %(file)s. A CTED analyst will accept or return it.",
                "%(count)s submissions sent for review from %(file)s. A CTED analyst will accept or return each.",
                count,
            )
            % {"count": count, "file": staged.file_name},
        )
        return redirect("my_state_upload", iso3=state.iso3)
    return _preview(request, "implementation/upload_preview.html", staged, {"state": state})


@login_required
def bulk_import(request):
    _require_analyst(request.user)
    form = UploadForm(request.POST or None, request.FILES or None)
    refused = None
    if request.method == "POST" and form.is_valid():
        try:
            staged = spreadsheets.stage_assessed(upload=form.cleaned_data["file"], by=request.user)
        except spreadsheets.UploadRefused as error:
            refused = error
        else:
            return redirect("bulk_import_preview", pk=staged.pk)
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "refused": refused,
        # The columns as the page names them, in the reader's language, as the workbook does.
        "columns": spreadsheets.COLUMN_BY_FIELD,
        "optional_columns": [
            column.header
            for column in spreadsheets.COLUMNS
            if column.field not in spreadsheets.REQUIRED_FIELDS and not column.informative
        ],
        "sheet": spreadsheets.SHEET,
    }
    return render(request, "implementation/bulk_import.html", context, status=status)


@login_required
def bulk_import_preview(request, pk):
    _require_analyst(request.user)
    staged = StagedUpload.objects.of(request.user).filter(pk=pk, kind=StagedUpload.Kind.ASSESSED).first()
    if staged is None:
        return _gone(request, "bulk_import")
    if request.method == "POST":
        try:
            count = spreadsheets.apply_assessed(staged, by=request.user)
        except spreadsheets.UploadRefused as refused:
            context = {"refused": refused}
            return _preview(request, "implementation/bulk_import_preview.html", staged, context, status=409)
        messages.success(
            request,
            ngettext(
                "%(count)s assessed rating set from %(file)s.", "%(count)s assessed ratings set from %(file)s.", count
            )
            % {"count": count, "file": staged.file_name},
        )
        return redirect("bulk_import")
    return _preview(request, "implementation/bulk_import_preview.html", staged, {})


def _preview(request, template, staged, context, status=200):
    """The preview page, or with ``?format=csv|xlsx`` every change it lists, for a file too long to show whole."""
    fmt = request.GET.get("format")
    if fmt is not None:
        try:
            return export_response(spreadsheets.changes_table(staged), fmt, f"changes-{staged.file_name}")
        except ValueError as error:
            return HttpResponseBadRequest(str(error))
    context = {**context, "staged": staged, "preview": spreadsheets.preview(staged)}
    return render(request, template, context, status=status)


def _gone(request, upload_page, **kwargs):
    # Most often a second click on "confirm": the browser shows the answer to that one, so
    # it says what happened rather than "not found". Someone else's preview reads the same.
    messages.warning(
        request,
        _(
            "This preview is no longer waiting: it was confirmed, or replaced by a later upload. Check what it "
            "changed before uploading the file again."
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
