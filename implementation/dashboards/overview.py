"""The overview: every Member State on a world map, and a card for each workshop region."""

import dataclasses
import datetime as dt
from collections import Counter, defaultdict

from django.db.models import Exists, OuterRef, Prefetch
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy, ngettext

from measures.models import Measure
from states.models import MIN_HIDDEN_STATES_IN_TOTAL, MemberState, Region, Workshop, is_analyst
from states.worldmap import WorldMap, shapes_for

from ..models import Rating
from . import html
from .queries import as_of, counted, filtered, first, in_scope, memberships
from .tallies import LEVELS, STATUS_ORDER, MeasureCounts, Status, Tally
from .texts import format_decimal, texts

ASSESSED = Rating.Kind.ASSESSED


@dataclasses.dataclass(frozen=True)
class MapKey:
    """One entry of the map's legend: what a fill means, and the marks that tell it apart without colour."""

    slug: str
    # Translated lazily, so not compared: a key is told apart by its slug, whatever the language.
    label: str = dataclasses.field(compare=False)
    abbreviation: str = dataclasses.field(compare=False)
    colour: str
    pattern: str

    @property
    def fill(self):
        return self.colour if self.pattern == "solid" else f"url(#map-{self.slug})"


# Each level adds marks of its own to its status's colour, so that a map printed in grey still tells them apart.
LEVEL_KEYS = {
    status: MapKey(status.value, status.label, status.abbreviation, status.colour, pattern)
    for status, pattern in zip([status for _, status in LEVELS], ["solid", "dots", "lines", "cross"], strict=True)
}
SHARED_LIST_LENGTH = 5
NO_RATINGS = MapKey("none", gettext_lazy("No ratings yet"), "–", "#D5D9DE", "dashes")
NOT_SHARED = MapKey("hidden", gettext_lazy("Not shared with you"), "", "#EEF0F2", "hatch")


@dataclasses.dataclass
class MapState:
    state: MemberState
    shown: bool
    tally: Tally

    @property
    def key(self):
        if not self.shown:
            return NOT_SHARED
        level = self.tally.level
        return LEVEL_KEYS[level] if level else NO_RATINGS

    @property
    def summary(self):
        t, words = self.tally, texts(get_language())
        if t.level:
            # Translators: a State's figures on the world map, after its name, e.g. "Largely implemented (L),
            # 50% implemented or largely, mean score 2.0 of 3 over 2 ratings".
            summary = ngettext(
                "%(level)s (%(abbreviation)s), %(share)s implemented or largely, "
                "mean score %(score)s of 3 over %(count)s rating",
                "%(level)s (%(abbreviation)s), %(share)s implemented or largely, "
                "mean score %(score)s of 3 over %(count)s ratings",
                t.scored,
            )
            return summary % {
                "level": words.labels[t.level],
                "abbreviation": words.abbreviations[t.level],
                "share": words.percent % {"share": t.percent_implemented},
                "score": format_decimal(t.mean_score, 1),
                "count": t.scored,
            }
        if t.total:
            return ngettext(
                "no scored ratings yet (%(count)s with no information or not applicable)",
                "no scored ratings yet (%(count)s with no information or not applicable)",
                t.total,
            ) % {"count": t.total}
        return words.no_ratings_yet


@dataclasses.dataclass
class RegionCard:
    region: Region
    states: int
    tally: Tally
    workshop: Workshop | None


@dataclasses.dataclass
class Overview:
    as_of: dt.date | None
    states: list[MapState]
    regions: list[RegionCard]
    world_map: WorldMap | None = None
    domain: Measure.Domain | None = None
    filtered: bool = False
    can_record: bool = False
    min_hidden = MIN_HIDDEN_STATES_IN_TOTAL

    @property
    def empty(self):
        # A withheld card counts as nothing: it may stand for no rating at all.
        return not any(card.tally.total for card in self.regions) and not any(s.tally.total for s in self.states)

    @property
    def withheld(self):
        return any(card.tally.withheld or card.tally.partial for card in self.regions)

    @property
    def partial(self):
        return any(card.tally.partial for card in self.regions)

    @property
    def statuses(self):
        return STATUS_ORDER

    @property
    def map_states(self):
        """(MapState, Shape) pairs in the order of ``states``, small States last so that their markers stay on top."""
        if self.world_map is None:
            return []
        pairs = zip(self.states, self.world_map.shapes, strict=True)
        return sorted(pairs, key=lambda pair: pair[1].small)

    @property
    def shown_states(self):
        return [s for s in self.states if s.shown]

    @property
    def shown_count(self):
        return len(self.shown_states)

    @property
    def shared_list(self):
        return self.shown_states if self.hidden_count and self.shown_count <= SHARED_LIST_LENGTH else []

    @property
    def hidden_count(self):
        return len(self.states) - self.shown_count

    @property
    def map_legend(self):
        counts = Counter(s.key for s in self.states)
        keys = [*LEVEL_KEYS.values(), NO_RATINGS] + ([NOT_SHARED] if counts[NOT_SHARED] else [])
        return [(key, counts[key]) for key in keys]

    @property
    def map_patterns(self):
        return [key for key in [*LEVEL_KEYS.values(), NO_RATINGS, NOT_SHARED] if key.pattern != "solid"]

    @property
    def map_html(self):
        return html.world_map(self)


def build_overview(*, user, filters):
    """Every Member State with its own level (for the States the reader may see), and each workshop region's card."""
    # 1. Every State, flagged when its detail is visible.
    visible = MemberState.objects.visible_to(user).filter(pk=OuterRef("pk"))
    states = list(MemberState.objects.annotate(shown=Exists(visible)).order_by("name"))
    shown_ids = {state.pk for state in states if state.shown}
    # 2. Assessed statuses of the current edition, counted by State for the map (unordered: docs/performance.md).
    day = as_of(filters)
    assessed = Rating.objects.current_edition().filter(kind=ASSESSED)
    by_state = defaultdict(Tally)
    for state_id, status, count in counted(filtered(assessed, filters), "state_id", "status"):
        if state_id in shown_ids:
            by_state[state_id].counts[Status(status)] += count
    # 3.-5. Workshop regions, their workshops and members on the day.
    on = day or timezone.localdate()
    regions = list(
        Region.objects.filter(kind=Region.Kind.WORKSHOP)
        .prefetch_related(Prefetch("workshops", queryset=Workshop.objects.order_by("starts_on")))
        .order_by("name")
    )
    members, regions_of = defaultdict(set), defaultdict(list)
    for region_id, state_id in memberships(regions, on):
        members[region_id].add(state_id)
        regions_of[state_id].append(region_id)
    # 6. The members' ratings by measure, counted as the region page counts them.
    scope = in_scope(set(regions_of), filters)
    counts = {
        region.pk: MeasureCounts(
            shown_ids=shown_ids,
            hidden_in_scope=len((members[region.pk] & scope) - shown_ids),
            status=filters.form.cleaned_data.get("status"),
        )
        for region in regions
    }
    rows = filtered(assessed.filter(state__in=list(regions_of)), filters, ignore=["status"])
    for state_id, measure_id, value in rows.order_by().values_list("state_id", "measure_id", "status"):
        for region_id in regions_of[state_id]:
            counts[region_id].add(state_id, measure_id, value)
    cards = []
    for region in regions:
        region_counts = counts[region.pk].settle()
        card = region_counts.total_of(list(region_counts.per_measure))
        workshops = list(region.workshops.all())
        cards.append(RegionCard(region=region, states=len(members[region.pk]), tally=card, workshop=first(workshops)))
    map_states = [
        MapState(state=state, shown=state.shown, tally=by_state[state.pk] if state.shown else Tally())
        for state in states
    ]
    cleaned = filters.form.cleaned_data
    return Overview(
        as_of=day,
        states=map_states,
        regions=cards,
        # Read from the committed geometry once per process, and role_kinds is cached on the user: no query.
        world_map=shapes_for(states),
        domain=Measure.Domain(cleaned["domain"]) if cleaned.get("domain") else None,
        filtered=any(value not in (None, "") for value in cleaned.values()),
        can_record=is_analyst(user),
    )
