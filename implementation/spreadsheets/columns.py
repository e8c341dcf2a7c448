"""The spreadsheet's columns, and the headers and status names an upload reads in any of the site's languages."""

import dataclasses

from django.conf import settings
from django.utils import translation
from django.utils.translation import pgettext_lazy
from openpyxl.utils import get_column_letter

from .. import workflow
from ..models import Rating

# The sheet an upload reads, found by this name in whatever language the workbook was
# downloaded: it is a key, like the measure codes, and is not translated.
SHEET = "Ratings"
# What a row of the spreadsheet sets: the fields of a submission, the same as a rating's but its assessment.
VALUE_FIELDS = workflow.SUBMITTED_FIELDS


@dataclasses.dataclass(frozen=True, eq=False)
class SheetColumn:
    """A column of the spreadsheet: the field it fills, its translated header, and English ``aliases``."""

    field: str
    title: str
    width: int
    aliases: tuple = ()
    # Filled in by the tracker for the reader's information, and ignored on upload.
    informative: bool = False

    @property
    def header(self):
        """The header in the active language, as the download writes it and messages name the column."""
        return str(self.title)

    @property
    def letter(self):
        return get_column_letter(COLUMNS.index(self) + 1)


COLUMNS = (
    SheetColumn("state", pgettext_lazy("spreadsheet column", "State"), 8, ("state iso3", "iso3", "state (iso3)")),
    SheetColumn("code", pgettext_lazy("spreadsheet column", "Code"), 11, ("measure code",)),
    SheetColumn("section", pgettext_lazy("spreadsheet column", "Section"), 22, informative=True),
    SheetColumn("title", pgettext_lazy("spreadsheet column", "Measure"), 45, ("measure title",), informative=True),
    SheetColumn("status", pgettext_lazy("spreadsheet column", "Status"), 22),
    SheetColumn("explanation", pgettext_lazy("spreadsheet column", "Explanation"), 50),
    SheetColumn("justification", pgettext_lazy("spreadsheet column", "Why not applicable"), 30, ("justification",)),
    SheetColumn("source_document", pgettext_lazy("spreadsheet column", "Source document"), 30),
    SheetColumn(
        "source_reference",
        pgettext_lazy("spreadsheet column", "Article or section"),
        16,
        ("source reference", "reference"),
    ),
    SheetColumn("source_url", pgettext_lazy("spreadsheet column", "Source URL"), 30, ("url",)),
    SheetColumn("source_date", pgettext_lazy("spreadsheet column", "Source date"), 13, ("date",)),
)
COLUMN_BY_FIELD = {column.field: column for column in COLUMNS}
REQUIRED_FIELDS = ("state", "code", "status")


def header_key(text):
    return " ".join(str(text).lower().replace("_", " ").split())


@dataclasses.dataclass(frozen=True)
class Vocabulary:
    """What an upload reads as a column header or a status, by ``header_key``."""

    columns: dict  # → SheetColumn
    statuses: dict  # → Rating.Status
    # Names that the translations give to two different columns or statuses: each keeps its
    # first meaning (English before the translations), and a test fails on any.
    clashes: list


def vocabulary():
    """The headers and status names an upload reads: machine names, then every language's, English first."""
    columns, statuses, clashes = {}, {}, []

    def add(names, name, meaning):
        key = header_key(name)
        if key and names.setdefault(key, meaning) is not meaning:
            clashes.append(key)

    for column in COLUMNS:
        for name in (column.field, *column.aliases):
            add(columns, name, column)
    for status in Rating.Status:
        add(statuses, status.value, status)
    languages = [settings.LANGUAGE_CODE, *(code for code, _name in settings.LANGUAGES)]
    for language in dict.fromkeys(languages):
        with translation.override(language):
            for column in COLUMNS:
                add(columns, column.header, column)
            for status in Rating.Status:
                add(statuses, status.label, status)
    return Vocabulary(columns, statuses, clashes)
