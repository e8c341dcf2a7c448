"""
Writes to the catalogue: loading the shipped edition from ``measures/data/catalogue.json``.
Revising an edition into a new one carries the ratings over, so it lives with them
(implementation/editions.py).
"""

from pathlib import Path

from django.db import transaction

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

from .models import Edition, Instrument, Measure, Section

DATA_DIR = Path(__file__).resolve().parent / "data"
CAPACITIES = ("legislative", "strategic", "operational")
EDITION_FIELDS = ("code", "title", "published_on", "is_current", "provenance", "sections")
MEASURE_FIELDS = ("code", "title", "domain", "phase", "capacities", "instruments")


@transaction.atomic
def load_catalogue(path=None):
    """
    Create or update the instruments, the edition, its sections and its measures of
    ``catalogue.json``; returns a ``LoadSummary``.

    ``is_current`` applies only when the edition is created and no other edition is
    current: once ``create_edition`` has superseded it, reloading does not bring it back.
    """
    path = Path(path or DATA_DIR / "catalogue.json")
    data = read_json(path)
    check_keys(data, where=str(path), required=["instruments", "edition"], optional=["about"])
    summary = LoadSummary()
    texts = read_translations(path)
    instruments = _load_instruments(data["instruments"], texts, summary, path=path)

    item = data["edition"]
    where = f"{path}, edition"
    check_keys(item, where=where, required=EDITION_FIELDS)
    edition = Edition.objects.filter(code=item["code"]).first()
    values = {
        **translated("title", item["title"], texts["edition"].get("title", {})),
        "published_on": parse_date(item["published_on"], where=where, name="published_on"),
        **translated("provenance", item["provenance"], texts["edition"].get("provenance", {})),
    }
    if edition is None:
        edition = Edition(code=item["code"], is_current=item["is_current"] and Edition.objects.current() is None)
    sync(edition, values, summary, where=f"{where} {item['code']}")
    summary.items["editions"] += 1

    sections = {section.code: section for section in edition.sections.all()}
    measures = {measure.code: measure for measure in edition.measures.prefetch_related("instruments")}
    listed = set()
    for section_position, section_item in enumerate(item["sections"]):
        section_where = f"{path}, section {section_item.get('code', section_position)}"
        check_keys(section_item, where=section_where, required=["code", "title", "measures"])
        section = sections.get(section_item["code"]) or Section(edition=edition, code=section_item["code"])
        values = {
            **translated("title", section_item["title"], texts["sections"].get(section_item["code"], {})),
            "position": section_position,
        }
        sync(section, values, summary, where=section_where)
        summary.items["sections"] += 1
        for position, measure_item in enumerate(section_item["measures"]):
            code = measure_item.get("code") if isinstance(measure_item, dict) else None
            measure_where = f"{path}, measure {code or position + 1} of section {section.code}"
            if code in listed:
                raise ReferenceDataError(f"{measure_where}: the code is listed twice.")
            listed.add(code)
            _load_measure(
                measure_item,
                edition,
                section,
                position,
                measures,
                instruments,
                texts["measures"].get(code, {}),
                summary,
                where=measure_where,
            )
    for part, known in (
        ("sections", {section_item["code"] for section_item in item["sections"]}),
        ("measures", listed),
        ("instruments", instruments),
    ):
        check_translated(texts[part], known, path=path.with_name(f"{path.stem}.<language>.json"), part=part)
    return summary


def read_translations(path):
    """
    The texts of ``catalogue.<language>.json`` beside ``path``, for every language that has
    one, turned around: ``{"sections": {code: {language: title}}, "measures": {code: {field:
    {language: text}}}, "instruments": {code: {language: name}}, "edition": {field: {language:
    text}}}``.
    """
    texts = {"sections": {}, "measures": {}, "instruments": {}, "edition": {}}
    for language in other_languages():
        file = path.with_name(f"{path.stem}.{language}.json")
        if not file.exists():
            continue
        data = read_json(file)
        check_keys(
            data,
            where=str(file),
            required=["language", "edition", "sections", "measures", "instruments"],
            optional=["about"],
        )
        if data["language"] != language:
            raise ReferenceDataError(f"{file}, field language: {data['language']!r} should be {language!r}.")
        check_keys(data["edition"], where=f"{file}, edition", required=[], optional=["title", "provenance"])
        for field, text in data["edition"].items():
            texts["edition"].setdefault(field, {})[language] = text
        for part in ("sections", "measures", "instruments"):
            if not isinstance(data[part], dict):
                raise ReferenceDataError(f"{file}, {part}: expected an object keyed by code.")
        for part in ("sections", "instruments"):
            for code, text in data[part].items():
                texts[part].setdefault(code, {})[language] = text
        for code, measure in data["measures"].items():
            check_keys(measure, where=f"{file}, measure {code}", required=[], optional=["title", "description"])
            for field, text in measure.items():
                texts["measures"].setdefault(code, {}).setdefault(field, {})[language] = text
    return texts


def _load_instruments(items, texts, summary, *, path):
    """The instruments of the file by code, created or updated."""
    existing = {instrument.code: instrument for instrument in Instrument.objects.all()}
    loaded = {}
    for index, item in enumerate(items):
        where = f"{path}, instrument {item.get('code', index + 1) if isinstance(item, dict) else index + 1}"
        check_keys(item, where=where, required=["code", "name", "kind"])
        if item["code"] in loaded:
            raise ReferenceDataError(f"{where}: the code is listed twice.")
        instrument = existing.get(item["code"]) or Instrument(code=item["code"])
        values = {"kind": item["kind"], **translated("name", item["name"], texts["instruments"].get(item["code"], {}))}
        sync(instrument, values, summary, where=where)
        loaded[item["code"]] = instrument
        summary.items["instruments"] += 1
    return loaded


def _load_measure(item, edition, section, position, measures, instruments, texts, summary, *, where):
    check_keys(item, where=where, required=MEASURE_FIELDS, optional=["description", "basis"])
    unknown = [name for name in item["capacities"] if name not in CAPACITIES]
    if unknown:
        raise ReferenceDataError(
            f"{where}, field capacities: {', '.join(unknown)} is not one of {', '.join(CAPACITIES)}."
        )
    cited = []
    for code in item["instruments"]:
        if code not in instruments:
            raise ReferenceDataError(f"{where}, field instruments: {code!r} is not in the file's instruments list.")
        cited.append(instruments[code])
    if not cited:
        raise ReferenceDataError(f"{where}, field instruments: name at least one instrument.")
    values = {
        "section": section,
        **translated("title", item["title"], texts.get("title", {})),
        **translated("description", item.get("description", ""), texts.get("description", {})),
        "domain": item["domain"],
        "phase": item["phase"],
        "basis": item.get("basis", ""),
        "position": position,
        **{name: name in item["capacities"] for name in CAPACITIES},
    }
    measure = measures.get(item["code"]) or Measure(edition=edition, code=item["code"])
    saved = sync(measure, values, summary, where=where)
    if {instrument.pk for instrument in measure.instruments.all()} != {instrument.pk for instrument in cited}:
        measure.instruments.set(cited)
        if not saved:
            # Only the instruments changed: the measure counts as updated, not unchanged.
            summary.unchanged -= 1
            summary.updated += 1
    summary.items["measures"] += 1
