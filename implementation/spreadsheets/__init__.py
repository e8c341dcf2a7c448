"""
Ratings in a spreadsheet: the State's workbook that focal points fill in offline, and the
analysts' bulk import of CTED's assessed ratings.

Both read the same columns (``COLUMNS``) from an XLSX or CSV file, and go in two steps:

1. ``stage_self_report`` / ``stage_assessed`` read the file, check every row with a form
   (``RowForm``), compare it with the rating it would change, and keep the result in a
   ``StagedUpload``, so that the uploader sees exactly what will change. Nothing else is
   written. A bad file raises ``UploadRefused`` with one ``Problem`` per row and column.
2. ``apply_self_report`` / ``apply_assessed`` apply the staged rows in one transaction:
   focal points' rows become submissions (``workflow.submit``), analysts' rows assessed
   ratings with one history row each. A row whose rating changed after the preview
   refuses the whole file (``UploadRefused``), naming the row.

The bulk import does not call ``services.set_rating`` per row: a full catalogue for every
State is some 14,000 rows, to be applied in under 5 s. It writes all rows at once, on
PostgreSQL in three statements (``_write_postgresql``), elsewhere with Django's bulk
operations (``_write_orm``), and stamps who and when and writes the history rows
(``previous_status`` included) as ``services.save_rating`` does. The figures are in
docs/performance.md, "Bulk import".

django-import-export was considered and not used: its flow is built around the admin, it
saves row by row (a query or more per row, and a history row each through simple_history's
signals), which does not fit 14,000 rows in 5 s, and it knows nothing of submissions. What
is needed here (read a sheet with openpyxl or ``csv``, a form per row, a preview) is a few
hundred lines.
"""

from .columns import COLUMN_BY_FIELD, COLUMNS, REQUIRED_FIELDS, SHEET, VALUE_FIELDS, SheetColumn, vocabulary
from .comparison import PREVIEW_ROWS, Preview, changes_table, preview
from .reading import MAX_UPLOAD_BYTES, Problem, Sheet, UploadRefused, read_sheet
from .staging import apply_assessed, apply_self_report, stage_assessed, stage_self_report
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
    "apply_assessed",
    "apply_self_report",
    "changes_table",
    "instruction_lines",
    "preview",
    "read_sheet",
    "stage_assessed",
    "stage_self_report",
    "status_list_formula",
    "vocabulary",
    "workbook_for",
]
