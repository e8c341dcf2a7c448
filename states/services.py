"""
Loading the reference data in ``states/data``: the Member States, the workshop regions
and their workshops. ``measures.services.load_catalogue`` loads the catalogue the same way.

The files are the source of truth for what they list. Rows are matched on natural keys
and saved only when a value differs, so that loading twice writes nothing and history
does not grow. Rows the files do not mention are left alone.
"""

import csv
import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from .models import MemberState, Region, RegionMembership, Workshop

DATA_DIR = Path(__file__).resolve().parent / "data"
MEMBER_STATE_COLUMNS = ("iso3", "iso2", "m49", "name", "m49_region", "m49_subregion")
NAMES_FILE = "names.i18n.json"


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
    Save ``obj`` (saved or not) with ``values`` if it is new or a value differs, validating it
    first, and count it in ``summary``. Returns whether it was saved. A validation error
    becomes a ``ReferenceDataError`` prefixed with ``where`` (the file and the item).
    """
    is_new = obj.pk is None
    # A new object's foreign keys cannot be read before they are set, hence no comparison.
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


def other_languages():
    """The codes of the languages other than English, which the texts are translated into."""
    return [code for code, _name in settings.LANGUAGES if code != settings.MODELTRANSLATION_DEFAULT_LANGUAGE]


def translated(field, english, translations):
    """
    The values of ``field`` in every language, for ``sync``: ``english`` for the field and its
    English column, and each other language's text from ``translations`` ({language: text}), or
    ``None`` where it is missing, which reads as the English text.
    """
    values = {field: english, f"{field}_{settings.MODELTRANSLATION_DEFAULT_LANGUAGE}": english}
    for code in other_languages():
        values[f"{field}_{code}"] = translations.get(code) or None
    return values


def read_names(path):
    """
    The translated names of ``names.i18n.json`` (beside the file that lists the States and
    regions, so that another list brings its own): ``{"member_states": {iso3: {language: name}},
    "regions": {slug: …}, "workshops": {English title: …}}``, empty when the file is absent.
    """
    if not path.exists():
        return {"member_states": {}, "regions": {}, "workshops": {}}
    data = read_json(path)
    check_keys(data, where=str(path), required=["member_states", "regions", "workshops"], optional=["about"])
    for part in ("member_states", "regions", "workshops"):
        if not isinstance(data[part], dict):
            raise ReferenceDataError(f"{path}, {part}: expected an object keyed by code.")
        for key, names in data[part].items():
            check_keys(names, where=f"{path}, {part} {key}", required=[], optional=other_languages())
    return data


def check_translated(names, known, *, path, part):
    """Refuse translations of something the English file does not list: a typo would be lost silently."""
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ReferenceDataError(f"{path}, {part}: {', '.join(unknown)} is not in the English file.")


@transaction.atomic
def load_member_states(path=None, names_path=None):
    """Create or update the Member States of ``member_states.csv``; returns a ``LoadSummary``."""
    path = Path(path or DATA_DIR / "member_states.csv")
    summary = LoadSummary()
    existing = {state.iso3: state for state in MemberState.objects.all()}
    seen = {column: {} for column in ("iso3", "iso2", "m49", "name")}
    names_path = names_path or path.with_name(NAMES_FILE)
    names = read_names(names_path)["member_states"]
    try:
        with path.open(newline="", encoding="utf-8") as data:
            reader = csv.DictReader(data)
            missing = [column for column in MEMBER_STATE_COLUMNS if column not in (reader.fieldnames or ())]
            if missing:
                raise ReferenceDataError(f"{path}: missing column {', '.join(missing)}.")
            for line, row in enumerate(reader, start=2):
                iso3 = row["iso3"]
                where = f"{path}, line {line} ({iso3})"
                for column, values in seen.items():
                    if row[column] in values:
                        raise ReferenceDataError(
                            f"{where}, field {column}: {row[column]!r} is also on line {values[row[column]]}."
                        )
                    values[row[column]] = line
                values = {column: row[column] for column in MEMBER_STATE_COLUMNS}
                values.update(translated("name", row["name"], names.get(iso3, {})))
                sync(existing.get(iso3) or MemberState(), values, summary, where=where)
                summary.items["Member States"] += 1
    except OSError as exc:
        raise ReferenceDataError(f"{path}: cannot be read ({exc}).") from None
    check_translated(names, seen["iso3"], path=names_path, part="member_states")
    return summary


@transaction.atomic
def load_regions(path=None, names_path=None):
    """
    Create or update the regions of ``regions.json``, their memberships and their workshops;
    returns a ``LoadSummary``. The States must be loaded first.
    """
    path = Path(path or DATA_DIR / "regions.json")
    data = read_json(path)
    check_keys(data, where=str(path), required=["regions"], optional=["about"])
    states = {state.iso3: state for state in MemberState.objects.all()}
    summary = LoadSummary()
    slugs = set()
    names_path = names_path or path.with_name(NAMES_FILE)
    names = read_names(names_path)
    titles = set()
    for index, item in enumerate(data["regions"]):
        where = f"{path}, region {item.get('slug', index) if isinstance(item, dict) else index}"
        check_keys(
            item, where=where, required=["slug", "name", "kind", "members"], optional=["description", "workshops"]
        )
        if item["slug"] in slugs:
            raise ReferenceDataError(f"{where}: the slug is listed twice.")
        slugs.add(item["slug"])
        region = Region.objects.filter(slug=item["slug"]).first() or Region(slug=item["slug"])
        values = {"kind": item["kind"], "description": item.get("description", "")}
        values.update(translated("name", item["name"], names["regions"].get(item["slug"], {})))
        sync(region, values, summary, where=where)
        summary.items["regions"] += 1
        _load_memberships(region, item["members"], states, summary, where=where)
        for workshop in item.get("workshops", []):
            _load_workshop(region, workshop, names["workshops"], summary, where=where)
            titles.add(workshop["title"])
    check_translated(names["regions"], slugs, path=names_path, part="regions")
    check_translated(names["workshops"], titles, path=names_path, part="workshops")
    return summary


def _load_memberships(region, members, states, summary, *, where):
    # A State may have left and rejoined; the file's entry updates the open membership,
    # or the latest one when the State has left: ordered so that that one comes last.
    existing = {}
    for membership in region.memberships.order_by(F("left_on").asc(nulls_last=True)):
        existing[membership.state_id] = membership
    listed = set()
    for position, member in enumerate(members, start=1):
        if isinstance(member, str):
            member = {"iso3": member}
        member_where = f"{where}, member {position}"
        check_keys(member, where=member_where, required=["iso3"], optional=["joined_on", "left_on"])
        iso3 = member["iso3"]
        state = states.get(iso3)
        if state is None:
            raise ReferenceDataError(
                f"{member_where}, field iso3: {iso3!r} is not a Member State in member_states.csv."
            )
        if iso3 in listed:
            raise ReferenceDataError(f"{member_where}, field iso3: {iso3} is listed twice.")
        listed.add(iso3)
        values = {
            "joined_on": parse_date(member.get("joined_on"), where=member_where, name="joined_on"),
            "left_on": parse_date(member.get("left_on"), where=member_where, name="left_on"),
        }
        membership = existing.get(state.pk) or RegionMembership(region=region, state=state)
        sync(membership, values, summary, where=f"{member_where} ({iso3})")


def _load_workshop(region, item, names, summary, *, where):
    where = f"{where}, workshop {item.get('title') if isinstance(item, dict) else item!r}"
    check_keys(
        item,
        where=where,
        required=["title", "starts_on", "status"],
        optional=["ends_on", "dates_approximate", "mode", "source"],
    )
    workshop = Workshop.objects.filter(region=region, title=item["title"]).first()
    values = {
        "starts_on": parse_date(item["starts_on"], where=where, name="starts_on"),
        "ends_on": parse_date(item.get("ends_on"), where=where, name="ends_on"),
        "dates_approximate": item.get("dates_approximate", False),
        "mode": item.get("mode", ""),
        "status": item["status"],
        "source": item.get("source", ""),
        **translated("title", item["title"], names.get(item["title"], {})),
    }
    sync(workshop or Workshop(region=region, title=item["title"]), values, summary, where=where)
    summary.items["workshops"] += 1
