"""
Ratings in a spreadsheet: the State's workbook that focal points fill in offline, and the analysts' bulk import of
assessed ratings. An upload goes in two steps, each run in the background (``implementation/tasks.py``):
``stage_*`` reads and checks the file kept in a ``StagedUpload`` and keeps in it what it would change, for the
uploader to see; ``apply_*`` applies it, once confirmed, in one transaction, or refuses the whole file
(``UploadRefused``) if a rating changed since. The modules, in the order an upload meets them: ``columns``,
``reading``, ``checks``, ``comparison``, ``staging``; ``workbook`` writes the download.
"""

from .columns import COLUMN_BY_FIELD, COLUMNS, REQUIRED_FIELDS, SHEET, VALUE_FIELDS, SheetColumn, vocabulary
from .comparison import PREVIEW_ROWS, Preview, changes_table, preview
from .reading import MAX_UPLOAD_BYTES, Problem, Sheet, UploadRefused, read_sheet, refuse_if_too_large
from .staging import apply, apply_assessed, apply_self_report, stage, stage_assessed, stage_self_report
from .workbook import LIST_FORMULA_MAX, instruction_lines, status_list_formula, workbook_for

__all__ = [
    "COLUMNS",
    "COLUMN_BY_FIELD",
    "LIST_FORMULA_MAX",
    "MAX_UPLOAD_BYTES",
    "PREVIEW_ROWS",
    "REQUIRED_FIELDS",
    "SHEET",
    "VALUE_FIELDS",
    "Preview",
    "Problem",
    "Sheet",
    "SheetColumn",
    "UploadRefused",
    "apply",
    "apply_assessed",
    "apply_self_report",
    "changes_table",
    "instruction_lines",
    "preview",
    "read_sheet",
    "refuse_if_too_large",
    "stage",
    "stage_assessed",
    "stage_self_report",
    "status_list_formula",
    "vocabulary",
    "workbook_for",
]
