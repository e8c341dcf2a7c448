"""
A new edition of the catalogue, and the ratings it carries over: a copy of each measure
of the previous edition, and of each rating of those measures, recorded in history.
"""

from collections import Counter

from django.core.exceptions import ValidationError
from django.db import transaction

from core.languages import other_language_columns
from measures.models import Edition, Measure, Section

from .models import Rating
from .ratings import carry_over_rating


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
