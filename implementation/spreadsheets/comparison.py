"""Comparing checked rows with the ratings they would change, and the preview an uploader confirms."""

import dataclasses
import datetime as dt
from collections import Counter

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from ..exports import Column, Table
from ..models import Rating
from .columns import COLUMN_BY_FIELD, VALUE_FIELDS, header_key, vocabulary

# Rows of a preview shown on the page; all of them are in its CSV download.
PREVIEW_ROWS = 500


UNCHANGED = "unchanged"
ADDED = "added"
CHANGED = "changed"


@dataclasses.dataclass(frozen=True)
class Labels:
    """The texts a preview's rows name, in the active language, read once for a whole file's rows."""

    columns: dict  # value field → header
    statuses: dict  # status value → label
    titles: dict  # measure id → title, filled in as the rows name them

    def title(self, measure):
        if (title := self.titles.get(measure.pk)) is None:
            title = self.titles[measure.pk] = measure.title
        return title


def value_labels():
    """The ``Labels`` of the active language."""
    return Labels(
        columns={field: COLUMN_BY_FIELD[field].header for field in VALUE_FIELDS},
        statuses={status.value: str(status.label) for status in Rating.Status},
        titles={},
    )


def _shown(field, value, labels):
    # Dates stay year-month-day, as the file has them and as its instructions ask for them.
    if value is None or value == "":
        return ""
    if field == "status":
        return labels.statuses[Rating.Status(value).value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _changed_fields(seen, new):
    """The fields whose value in ``new`` differs from ``seen`` (``None``: nothing there yet, so every value given)."""
    if seen is None:
        return [field for field in VALUE_FIELDS if new[field] not in ("", None)]
    return [field for field in VALUE_FIELDS if not same(field, seen[field], new[field])]


def _changes(row, labels):
    """``[column, now, from the file]`` per changed field, in the reader's language, whatever the upload's."""
    seen, new = row["seen"], row["values"]
    return [
        [
            labels.columns[field],
            _shown(field, seen[field] if seen else None, labels),
            _shown(field, new[field], labels),
        ]
        for field in _changed_fields(seen, new)
    ]


def same(field, old, new):
    if isinstance(old, str) and isinstance(new, str):
        return old.replace("\r\n", "\n").strip() == new.strip()
    return old == new


def compare(number, values, current, *, fields, labels):
    """
    The staged row for ``values`` against ``current`` (or ``None``): added, changed or unchanged, with the values
    seen, those to write and the changes. A column absent from the file keeps the current value.
    """
    state, measure = values["state"], values["code"]
    new = {}
    for field in VALUE_FIELDS:
        if field in fields:
            value = values[field] or ("" if field != "source_date" else None)
        else:
            value = getattr(current, field) if current is not None else ("" if field != "source_date" else None)
        new[field] = _json(value)
    seen = seen_values(current)
    changed = _changed_fields(seen, new)
    if current is None:
        action = ADDED
    else:
        action = CHANGED if changed else UNCHANGED
    row = {
        "row": number,
        "action": action,
        "state": state.pk,
        "iso3": state.iso3,
        "measure": measure.pk,
        "code": measure.code,
        "title": labels.title(measure),
    }
    if action != UNCHANGED:
        # The changes as a page shows them are worked out from these when it is drawn (``preview``).
        row.update(seen=seen, values=new)
    return row


def seen_values(rating):
    """``rating``'s values as the preview saw them (``None``: no rating), checked again when confirming."""
    if rating is None:
        return None
    return {field: _json(getattr(rating, field)) for field in VALUE_FIELDS}


def _json(value):
    return value.isoformat() if isinstance(value, dt.date) else value


def values_from(row):
    values = dict(row["values"])
    if values.get("source_date"):
        values["source_date"] = dt.date.fromisoformat(values["source_date"])
    return values


def summary_of(sheet, rows, blank):
    counts = Counter(row["action"] for row in rows)
    missing = [COLUMN_BY_FIELD[f].header for f in VALUE_FIELDS if f not in sheet.fields]
    return {
        "added": counts[ADDED],
        "changed": counts[CHANGED],
        "unchanged": counts[UNCHANGED],
        "blank": blank,
        "states": len({row["state"] for row in rows}),
        "file_format": sheet.file_format,
        "ignored_columns": sheet.ignored_headers,
        "missing_columns": missing,
    }


@dataclasses.dataclass
class Preview:
    """What a page shows of a staged upload: the first rows that change and that do not, and the columns left out."""

    changes: list
    unchanged: list
    more_changes: int
    more_unchanged: int
    missing_columns: list


def preview(staged, limit=None):
    """The ``Preview`` of ``staged``: at most ``limit`` (``PREVIEW_ROWS``) rows of each kind, in file order."""
    limit = limit or PREVIEW_ROWS
    labels = value_labels()
    changes = [row for row in staged.rows if row["action"] != UNCHANGED]
    unchanged = [row for row in staged.rows if row["action"] == UNCHANGED]
    # The summary names the columns left out as the uploader read them; shown in the reader's language.
    columns = vocabulary().columns
    missing = [
        columns[header_key(name)].header if header_key(name) in columns else name
        for name in staged.summary.get("missing_columns", [])
    ]
    return Preview(
        [{**row, "changes": _changes(row, labels)} for row in changes[:limit]],
        unchanged[:limit],
        max(len(changes) - limit, 0),
        max(len(unchanged) - limit, 0),
        missing,
    )


def changes_table(staged):
    """Every change ``staged`` would make, one line per row and field, as an export ``Table``."""
    labels = value_labels()
    actions = {ADDED: pgettext("upload change", "added"), CHANGED: pgettext("upload change", "changed")}
    lines = (
        {**row, "field": field, "old": old, "new": new}
        for row in staged.rows
        if row["action"] != UNCHANGED
        for field, old, new in _changes(row, labels)
    )
    return Table(
        title=_("Changes in %(file)s") % {"file": staged.file_name},
        columns=[
            Column(pgettext("upload preview", "Row"), "row"),
            Column(COLUMN_BY_FIELD["state"].header, "iso3"),
            Column(COLUMN_BY_FIELD["code"].header, "code"),
            Column(COLUMN_BY_FIELD["title"].header, "title"),
            Column(_("Added or changed"), lambda line: actions[line["action"]]),
            Column(pgettext("upload preview", "Field"), "field"),
            Column(pgettext("upload preview", "Now"), "old"),
            Column(pgettext("upload preview", "From the file"), "new"),
        ],
        rows=lines,
    )
