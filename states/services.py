"""
Loading the reference data in ``states/data``: the Member States, the workshop regions and their
workshops, with the helpers of ``core.loading`` (``measures.services`` loads the catalogue with them).
"""

import csv
from pathlib import Path

from django.db import transaction
from django.db.models import F

from core.languages import other_languages
from core.loading import (
    LoadSummary,
    ReferenceDataError,
    check_keys,
    check_translated,
    parse_date,
    read_json,
    sync,
    translated,
)

from .models import MemberState, Region, RegionMembership, Workshop

DATA_DIR = Path(__file__).resolve().parent / "data"
MEMBER_STATE_COLUMNS = ("iso3", "iso2", "m49", "name", "m49_region", "m49_subregion")
NAMES_FILE = "names.i18n.json"


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
    # A State may have left and rejoined: the file's entry updates the open membership, or else the latest.
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
