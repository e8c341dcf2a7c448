"""
Helpers for loading the committed reference data. Rows are matched on natural keys and saved only when a value
differs, so that loading twice writes nothing and history does not grow; rows the files omit are left alone.
"""

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from .languages import other_languages


class ReferenceDataError(ValueError):
    """A reference-data file is malformed; the message names the file, the item and the field."""


@dataclass
class LoadSummary:
    """What a load read (``items``, e.g. ``{"Member States": 193}``) and how many rows it created or updated."""

    items: Counter = field(default_factory=Counter)
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other):
        return LoadSummary(
            self.items + other.items,
            self.created + other.created,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
        )


def sync(obj, values, summary, *, where):
    """
    Validate and save ``obj`` with ``values`` if it is new or a value differs, counted in ``summary``; returns
    whether it was saved. A validation error becomes a ``ReferenceDataError`` prefixed with ``where``.
    """
    is_new = obj.pk is None
    # A new object's foreign keys cannot be read before they are set.
    changed = [name for name, value in values.items() if is_new or getattr(obj, name) != value]
    if not is_new and not changed:
        summary.unchanged += 1
        return False
    for name in changed:
        setattr(obj, name, values[name])
    try:
        # Unique fields are left to the database: checking them here costs a query per field and row.
        obj.full_clean(validate_unique=False)
    except ValidationError as exc:
        problems = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in exc.message_dict.items())
        raise ReferenceDataError(f"{where}: {problems}") from None
    if is_new:
        obj.save()
        summary.created += 1
    else:
        obj.save(update_fields=changed)
        summary.updated += 1
    return True


def read_json(path):
    """The parsed content of the JSON file at ``path``, or a ``ReferenceDataError`` saying why not."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReferenceDataError(f"{path}: cannot be read as JSON ({exc}).") from None


def check_keys(item, *, where, required, optional=()):
    """Refuse a JSON object that lacks a required key or has one outside ``required`` and ``optional``."""
    if not isinstance(item, dict):
        raise ReferenceDataError(f"{where}: expected an object, got {item!r}.")
    missing = [key for key in required if key not in item]
    if missing:
        raise ReferenceDataError(f"{where}: missing field {', '.join(missing)}.")
    unknown = sorted(set(item) - set(required) - set(optional))
    if unknown:
        raise ReferenceDataError(f"{where}: unknown field {', '.join(unknown)}.")


def parse_date(value, *, where, name):
    """``value`` (``YYYY-MM-DD`` or null) as a date."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ReferenceDataError(f"{where}, field {name}: {value!r} is not a date (YYYY-MM-DD).") from None


def translated(field, english, translations):
    """The values of ``field`` in every language for ``sync``; a missing translation is ``None``, read as English."""
    values = {field: english, f"{field}_{settings.MODELTRANSLATION_DEFAULT_LANGUAGE}": english}
    for code in other_languages():
        values[f"{field}_{code}"] = translations.get(code) or None
    return values


def check_translated(names, known, *, path, part):
    """Refuse translations of something the English file does not list: a typo would be lost silently."""
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ReferenceDataError(f"{path}, {part}: {', '.join(unknown)} is not in the English file.")
