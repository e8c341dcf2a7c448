"""
Writes to the catalogue: loading the shipped edition from ``measures/data/catalogue.json``,
and revising an edition into a new one that carries the ratings over.
"""

from collections import Counter
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from implementation.models import Rating
from implementation.services import carry_over_rating
from states.models import other_language_columns
from states.services import (
    LoadSummary,
    ReferenceDataError,
    check_keys,
    check_translated,
    other_languages,
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


@transaction.atomic
def create_edition(*, previous, code, title, mapping=None, by, published_on=None):
    """
    Create edition ``code`` as a revision of ``previous`` and make it the current edition.
    Returns the new edition.

    Sections and measures are copied. ``mapping`` renames measures ({old code: new code})
    or drops them ({old code: None}); the others keep their code. Each copy points to
    its predecessor, and every rating of a copied measure is carried over through
    ``carry_over_rating`` by ``by``, so that history records it. Raises ``ValueError`` naming the
    code for a mapping that names an unknown measure or gives two measures one code; then
    nothing is written.
    """
    mapping = dict(mapping or {})
    old_measures = list(previous.measures.select_related("section").prefetch_related("instruments"))
    new_codes = _new_codes(previous, old_measures, mapping)
    if Edition.objects.filter(code=code).exists():
        raise ValueError(f"An edition with code {code} already exists.")
    if Edition.objects.filter(previous=previous).exists():
        raise ValueError(f"Edition {previous.code} has already been revised; revise its latest edition instead.")

    # One edition is current at a time (a partial unique index), so the old one stops first.
    Edition.objects.filter(is_current=True).update(is_current=False)
    edition = Edition(
        code=code,
        title=title,
        published_on=published_on,
        is_current=True,
        previous=previous,
        provenance=f"Revision of {previous.title} ({previous.code}).\n\n{previous.provenance}".strip(),
    )
    edition.full_clean(validate_unique=False)
    edition.save()
    sections = {
        section.code: Section.objects.create(
            edition=edition,
            code=section.code,
            position=section.position,
            **{name: getattr(section, name) for name in with_languages("title")},
        )
        for section in previous.sections.all()
    }
    copies = {}
    for old in old_measures:
        if new_codes[old.code] is None:
            continue
        new = Measure(
            edition=edition,
            section=sections[old.section.code],
            code=new_codes[old.code],
            predecessor=old,
            **{name: getattr(old, name) for name in _COPIED_MEASURE_FIELDS},
        )
        new._change_reason = f"Copied from {old.code} in edition {previous.code}."
        new._history_user = by
        new.save()
        new.instruments.set(old.instruments.all())
        copies[old.pk] = new

    carried = Rating.objects.filter(measure__in=copies.keys()).select_related("state", "measure", "assessment")
    for old in carried.order_by("pk"):
        carry_over_rating(
            old,
            measure=copies[old.measure_id],
            by=by,
            reason=f"Carried over from {old.measure.code} in edition {previous.code}.",
        )
    return edition


def with_languages(*fields):
    """``fields`` and their per-language columns, so that a copy keeps every translation."""
    return [*fields, *other_language_columns(*fields)]


_COPIED_MEASURE_FIELDS = (
    *with_languages("title", "description"),
    "domain",
    "phase",
    "legislative",
    "strategic",
    "operational",
    "basis",
    "position",
)


def _new_codes(previous, old_measures, mapping):
    """Each old code's new code (``None`` when dropped), or ``ValueError`` for a bad mapping."""
    old_codes = {measure.code for measure in old_measures}
    for old_code in mapping:
        if old_code not in old_codes:
            raise ValueError(f"Edition {previous.code} has no measure {old_code}.")
    new_codes = {old_code: mapping.get(old_code, old_code) for old_code in old_codes}
    counts = Counter(new for new in new_codes.values() if new is not None)
    for new_code, count in sorted(counts.items()):
        if count > 1:
            olds = sorted(old for old, new in new_codes.items() if new == new_code)
            raise ValueError(f"Measures {' and '.join(olds)} would both become {new_code}.")
    for new_code in counts:
        try:
            Measure._meta.get_field("code").clean(new_code, None)
        except ValidationError as exc:
            raise ValueError(f"{new_code!r} is not a usable measure code: {' '.join(exc.messages)}") from None
    return new_codes
