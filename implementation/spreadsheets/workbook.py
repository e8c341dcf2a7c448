"""The State's workbook: its self-report as an XLSX file to fill in offline, with a sheet of instructions."""

import io

import openpyxl
from django.utils import formats, timezone, translation
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.worksheet.datavalidation import DataValidation

from measures.models import Measure

from ..exports import escape_formula, sheet_title
from ..models import Rating
from .columns import COLUMN_BY_FIELD, COLUMNS, SHEET, VALUE_FIELDS

INSTRUCTIONS_SHEET = gettext_lazy("Instructions")


GREY = PatternFill("solid", fgColor="E7E6E6")
LOCKED = Protection(locked=True)
UNLOCKED = Protection(locked=False)
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")


def workbook_for(state):
    """``state``'s spreadsheet as XLSX bytes: its self-report by measure, and the instructions."""
    measures = Measure.objects.current().select_related("section").order_by("section__position", "position", "code")
    reports = {
        rating.measure_id: rating
        for rating in Rating.objects.filter(state=state, kind=Rating.Kind.SELF_REPORTED).current_edition()
    }
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    sheet.append([column.header for column in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = GREY
        cell.protection = LOCKED
    for measure in measures:
        rating = reports.get(measure.pk)
        sheet.append([_xlsx_text(value) for value in _workbook_row(state, measure, rating)])
    last = sheet.max_row
    for column in COLUMNS:
        sheet.column_dimensions[column.letter].width = column.width
        editable = column.field not in ("state", "code") and not column.informative
        for (cell,) in sheet.iter_rows(min_row=2, max_row=max(last, 2), min_col=COLUMNS.index(column) + 1,
                                       max_col=COLUMNS.index(column) + 1):  # fmt: skip
            cell.protection = UNLOCKED if editable else LOCKED
            cell.alignment = WRAP if column.width >= 30 else TOP
            if not editable:
                cell.fill = GREY
            if column.field == "source_date":
                cell.number_format = "yyyy-mm-dd"
    not_applicable = Rating.Status.NOT_APPLICABLE.label
    statuses = DataValidation(
        type="list",
        formula1=status_list_formula(),
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=_validation_text(_("Not a status"), TITLE_MAX),
        error=_validation_text(_("Choose a status from the list."), MESSAGE_MAX),
        showInputMessage=True,
        promptTitle=_validation_text(COLUMN_BY_FIELD["status"].header, TITLE_MAX),
        prompt=_validation_text(
            _("Choose from the list. '%(not_applicable)s' needs a justification.")
            % {"not_applicable": not_applicable},
            MESSAGE_MAX,
        ),
    )
    sheet.add_data_validation(statuses)
    statuses.add(f"{COLUMN_BY_FIELD['status'].letter}2:{COLUMN_BY_FIELD['status'].letter}{max(last, 2)}")
    dates = DataValidation(
        type="date",
        operator="greaterThan",
        formula1="1",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=_validation_text(_("Not a date"), TITLE_MAX),
        error=_validation_text(_("Type a date as 2024-05-01 (year-month-day)."), MESSAGE_MAX),
    )
    sheet.add_data_validation(dates)
    dates.add(f"{COLUMN_BY_FIELD['source_date'].letter}2:{COLUMN_BY_FIELD['source_date'].letter}{max(last, 2)}")
    sheet.freeze_panes = "C2"
    # Locked cells stay locked only while the sheet is protected. No password: it guards
    # against slips, not people, and the upload checks every cell anyway.
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False
    sheet.protection.autoFilter = False
    sheet.protection.sort = False
    sheet.auto_filter.ref = f"A1:{COLUMNS[-1].letter}{max(last, 2)}"

    instructions = workbook.create_sheet(sheet_title(INSTRUCTIONS_SHEET))
    instructions.column_dimensions["A"].width = 110
    if translation.get_language_bidi():
        sheet.sheet_view.rightToLeft = instructions.sheet_view.rightToLeft = True
    for line in instruction_lines(state):
        instructions.append([_xlsx_text(line)])
        instructions.cell(instructions.max_row, 1).alignment = Alignment(wrap_text=True, vertical="top")
    instructions["A1"].font = Font(bold=True, size=14)

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# Excel's limits on a drop-down's texts; a longer one makes it call the file damaged.
TITLE_MAX = 32
MESSAGE_MAX = 255
LIST_FORMULA_MAX = 255


def _validation_text(text, limit):
    return Truncator(str(text)).chars(limit)


def status_list_formula():
    """The status drop-down's list as Excel reads it; tests/test_workflow_i18n.py checks its limits."""
    return '"' + ",".join(str(status.label) for status in Rating.Status) + '"'


def _workbook_row(state, measure, rating):
    values = {"state": state.iso3, "code": measure.code, "section": str(measure.section), "title": measure.title}
    if rating is not None:
        values.update({field: getattr(rating, field) for field in VALUE_FIELDS})
        values["status"] = rating.get_status_display()
    return [values.get(column.field) for column in COLUMNS]


def _xlsx_text(value):
    if isinstance(value, str):
        return escape_formula(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def instruction_lines(state):
    """The text of the workbook's "Instructions" sheet in the active language, one paragraph per line."""
    header = {column.field: column.header for column in COLUMNS}
    not_applicable = Rating.Status.NOT_APPLICABLE.label
    statuses = [f"    {status.label}" for status in Rating.Status]
    columns = [
        (header["state"], _("the State's ISO3 code (%(iso3)s). Filled in; leave it.") % {"iso3": state.iso3}),
        (
            ", ".join([header["code"], header["section"], header["title"]]),
            _("the measure. Filled in and grey; leave them."),
        ),
        (header["status"], _("where your State stands on the measure. Choose from the drop-down list.")),
        (header["explanation"], _("why this status: what is in place and what is missing.")),
        (
            header["justification"],
            _(
                "required when the status is '%(not_applicable)s', e.g. 'No drone industry and no civil UAS market'. "
                "Leave it empty otherwise."
            )
            % {"not_applicable": not_applicable},
        ),
        (
            header["source_document"],
            _("the title of the law, report or record that shows the status, e.g. 'Firearms Act 2022'."),
        ),
        (header["source_reference"], _("where in the document, e.g. 's. 12(3)'.")),
        (header["source_url"], _("a link to the document, if it is online.")),
        (header["source_date"], _("the date of the document, as 2024-05-01 (year-month-day).")),
    ]
    names = {"sheet": SHEET, "state": state.name, "iso3": state.iso3}
    return [
        _("Self-report of %(state)s (%(iso3)s) on the SCR 2370 Technical Guidelines") % names,
        "",
        _(
            "Downloaded on %(date)s. The '%(sheet)s' sheet has one row per measure of the current catalogue, filled "
            "in with your State's self-report as it stands."
        )
        % {**names, "date": formats.date_format(timezone.localdate(), "j F Y")},
        "",
        _("How to fill it in"),
        _(
            "1. In the '%(sheet)s' sheet, change the rows you want to update: status, explanation and source. You can "
            "do this offline."
        )
        % names,
        _("2. Leave the grey columns, the column headers and the sheet names as they are. Do not add or remove rows."),
        # Translators: 'CSV UTF-8' is the name of the file type in Excel's "Save as" dialog.
        _("3. Save the file as .xlsx (or as 'CSV UTF-8'), and upload it on your State's page in the tracker."),
        _("4. The tracker shows you, row by row, what the file adds and changes. Nothing is sent until you confirm."),
        _(
            "5. Confirmed rows become submissions that a CTED analyst reviews; rows you did not change are skipped, "
            "and rows left empty are ignored."
        ),
        "",
        _("What each column means"),
        # Translators: a column of the spreadsheet and what it holds, e.g. "Status: where your State stands…".
        *(_("%(column)s: %(meaning)s") % {"column": name, "meaning": meaning} for name, meaning in columns),
        "",
        _("The status scale"),
        *statuses,
        _("'%(not_applicable)s' needs a justification in the column '%(column)s'.")
        % {"not_applicable": not_applicable, "column": header["justification"]},
        "",
        _("Please note"),
        _("Formulas are refused: type values, not formulas. Text that starts with '=' must start with an apostrophe."),
        _(
            "A file with any mistake is not applied at all; the tracker lists each mistake by row and column, so that "
            "you can correct the file and upload it again."
        ),
        # Translators: "Review → Unprotect Sheet" is the menu command in Excel; use the translated Excel's name.
        _(
            "The sheet is protected against accidental edits of the grey columns, without a password "
            "(Review → Unprotect Sheet)."
        ),
    ]
