"""
What the dashboards show, computed from a fixed number of queries whatever the number
of States, measures and history rows. Views call one ``build_*`` function and render
its result; templates only lay it out.

Who sees what is decided by ``MemberState.objects.visible_to`` (per-State detail),
``can_read_aggregates`` (figures summed over States) and ``withholds_total``. A board
built for a reader who may not see a State's detail still counts that State in region
totals, measure by measure: a measure rated by too few such States is withheld, its
counts cleared so that no page, chart or download can show them, and left out of every
sum above it (sections, domains, the region), so that no sum can be taken apart again.
"""

import dataclasses
import datetime as dt
import functools
import html
import math
import types
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Count, Exists, Min, OuterRef, Prefetch
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dates import MONTHS_3
from django.utils.formats import date_format, get_format
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.timezone import template_localtime
from django.utils.translation import get_language, gettext, gettext_lazy, ngettext, pgettext

from measures.models import Measure, Section
from states.models import (
    MIN_HIDDEN_STATES_IN_TOTAL,
    MemberState,
    Region,
    RegionMembership,
    Workshop,
    is_analyst,
    withholds_total,
)
from states.worldmap import WorldMap, shapes_for

from ..filters import MeasureFilterSet, end_of_day
from ..models import STALE_AFTER, Assessment, AssistanceNeed, Confidentiality, Priority, Rating, Recommendation
from ..workflow import may_submit

Status = Rating.Status
ASSESSED = Rating.Kind.ASSESSED
SELF_REPORTED = Rating.Kind.SELF_REPORTED
# How many measures the "least implemented" list shows, and history rows a State's timeline.
LEAST_IMPLEMENTED = 10
TIMELINE_LENGTH = 60
# The statuses in the order charts stack them, best first.
STATUS_ORDER = list(Status)
_SCORES = {status: status.score for status in Status if status.score is not None}
_IMPLEMENTED = [status for status in Status if status.counts_as_implemented]
# A State's mean score (0-3) falls into one of these bands on the map, each drawn like a status.
LEVELS = (
    (2.25, Status.IMPLEMENTED),
    (1.5, Status.LARGELY),
    (0.75, Status.PARTIALLY),
    (0.0, Status.NOT_IMPLEMENTED),
)


@dataclasses.dataclass
class Tally:
    """Counts of ratings by status, and what they add up to."""

    counts: Counter = dataclasses.field(default_factory=Counter)
    # The States hidden from the reader that have a rating here, whatever its status (the
    # status filter must not decide what is withheld); only their number matters.
    hidden: set = dataclasses.field(default_factory=set)
    withheld: bool = False  # set by ``withhold``: the counts were cleared
    partial: bool = False  # a sum that leaves out withheld measures (``MeasureCounts.total_of``)
    min_hidden = MIN_HIDDEN_STATES_IN_TOTAL  # for the pages' explanations of withheld totals

    def add(self, status):
        self.counts[Status(status)] += 1

    def merge(self, other):
        self.counts.update(other.counts)
        self.hidden |= other.hidden

    def withhold(self, hidden_in_scope):
        """
        Clear the counts if, with ``hidden_in_scope`` States hidden from the reader in scope,
        they count too few of them (``withholds_total``), and return the tally. Cleared
        rather than flagged alone, so that a page, chart or export that forgets to ask
        still cannot show them.
        """
        if withholds_total(hidden_in_scope=hidden_in_scope, hidden_counted=len(self.hidden)):
            self.counts.clear()
            self.withheld = True
        return self

    @property
    def total(self):
        return sum(self.counts.values())

    # The figures below are read a dozen times per State or measure on a page (titles,
    # bars, tables), so they look scores up in a table made once rather than by property.

    @property
    def scored(self):
        counts = self.counts
        return sum(counts[status] for status in _SCORES)

    @property
    def mean_score(self):
        """Mean of the scored statuses, 0 (none implemented) to 3 (all implemented); None with none scored."""
        counts = self.counts
        scored = sum(counts[status] for status in _SCORES)
        if not scored:
            return None
        return sum(score * counts[status] for status, score in _SCORES.items()) / scored

    @property
    def percent_implemented(self):
        """Share of scored ratings implemented or largely implemented, 0-100; None with none scored."""
        scored = self.scored
        if not scored:
            return None
        counts = self.counts
        return round(100 * sum(counts[status] for status in _IMPLEMENTED) / scored)

    @property
    def level(self):
        """The status band the mean score falls in, for colouring a State or region as a whole."""
        score = self.mean_score
        if score is None:
            return None
        return next(status for floor, status in LEVELS if score >= floor)

    @property
    def segments(self):
        """One ``Segment`` per status present, best first, laid end to end: a stacked bar of 100 units."""
        total, start, segments = self.total, 0.0, []
        for status in STATUS_ORDER:
            if self.counts[status]:
                percent = 100 * self.counts[status] / total
                segments.append(Segment(status, self.counts[status], percent, start))
                start += percent
        return segments

    @property
    def segments_summary(self):
        """The segments in words, best first ("Implemented 3, Partially implemented 1"), for the bar's name."""
        texts = _texts(get_language())
        return texts.list_separator.join(
            texts.status_count % {"status": texts.labels[segment.status], "count": segment.count}
            for segment in self.segments
        )

    @property
    def segments_svg(self):
        """
        The bar's ``<rect>`` segments, each titled with its status, count and share. Written
        here rather than in a template loop: a region page draws some 60 bars. The bar grows
        from the inline start, as the text around it reads: from the right on a right-to-left page.
        """
        texts = _html_texts(get_language())
        parts = []
        for segment in self.segments:
            # max(): 100 less the parts can come out a hair below 0, which would be written "-0.000".
            x = max(0.0, 100 - segment.start - segment.percent) if texts.rtl else segment.start
            parts.append(
                _SEGMENT.format(
                    f"{x:.3f}",
                    f"{segment.percent:.3f}",
                    segment.status.colour,
                    texts.segment_title
                    % {
                        "status": texts.labels[segment.status],
                        "count": segment.count,
                        "share": texts.percent % {"share": format_decimal(segment.percent, 0)},
                    },
                )
            )
        return mark_safe("".join(parts))


def bar_row_html(label, tally, *, href=None, differs=None):
    """
    One ``<li class="bar-row">`` of a region page: the label (linked to ``href`` if given),
    the tally's stacked bar, its figures as text and, if ``differs`` is given, how many
    self-reports differ. Written in Python, not a template partial: a region page has
    some 60 of them, and each partial included cost more than this whole function.
    """
    texts = _html_texts(get_language())
    label = escape(label)
    name = f'<a href="{escape(href)}">{label}</a>' if href else label
    if tally.withheld:
        bar = f'<span class="muted">{texts.withheld}</span>'
    elif tally.total:
        summary = texts.named % {"name": label, "summary": escape(tally.segments_summary)}
        bar = (
            f'<svg class="stacked-bar" viewBox="0 0 100 6" preserveAspectRatio="none" role="img" '
            f'aria-label="{summary}">{tally.segments_svg}</svg>'
        )
    else:
        bar = f'<span class="muted">{texts.no_ratings}</span>'
    if tally.scored:
        mean = texts.out_of_3 % {"score": f"<strong>{format_decimal(tally.mean_score, 1)}</strong>"}
        share = texts.percent % {"share": tally.percent_implemented}
        implemented = texts.share_implemented % {"share": f"<strong>{share}</strong>"}
        figures = f'<span class="figure">{mean}</span>\n<span class="figure">{implemented}</span>'
    elif tally.total:
        figures = f'<span class="figure muted">{texts.not_scored}</span>'
    else:
        figures = ""
    if not tally.withheld:
        # Translators: how many ratings a bar of the region page counts, e.g. "12 rated".
        rated = ngettext("%(count)s rated", "%(count)s rated", tally.total) % {"count": tally.total}
        figures += f'\n    <span class="figure muted">{escape(rated)}</span>'
    if tally.partial:
        figures += f'\n    <span class="figure muted">{texts.partial}</span>'
    if differs is not None:
        differ = ngettext("%(count)s self-report differs", "%(count)s self-reports differ", differs) % {
            "count": differs
        }
        figures += f'\n    <span class="figure{"" if differs else " muted"}">{escape(differ)}</span>'
    return mark_safe(
        f'<li class="bar-row">\n  <span class="bar-name">{name}</span>\n'
        f'  <span class="bar-chart">{bar}</span>\n  <span class="bar-figures">{figures}</span>\n</li>\n'
    )


_SEGMENT = (
    '<rect x="{}" width="{}" height="6" fill="{}" stroke="#444" stroke-width="0.1" vector-effect="non-scaling-stroke">'
    "<title>{}</title></rect>"
)


@dataclasses.dataclass(frozen=True)
class Segment:
    status: Status
    count: int
    percent: float
    start: float


def tally(statuses):
    result = Tally()
    for status in statuses:
        result.add(status)
    return result


@dataclasses.dataclass
class Cell:
    """One State × measure: CTED's assessed status and the State's self-reported one."""

    assessed: str | None = None
    reported: str | None = None

    @property
    def assessed_status(self):
        return Status(self.assessed) if self.assessed else None

    @property
    def reported_status(self):
        return Status(self.reported) if self.reported else None

    @property
    def diverges(self):
        """Whether the State reports something other than CTED assessed (both must be set)."""
        return bool(self.assessed and self.reported and self.assessed != self.reported)


@dataclasses.dataclass
class TrendPoint:
    quarter: dt.date
    mean_score: float | None
    scored: int


def quarterly_trend(history_rows):
    """The mean assessed score at the end of each quarter, summed from ``score_changes_by_quarter``."""
    points, total, scored = [], 0, 0
    for row in history_rows.score_changes_by_quarter():
        total += row["score_change"]
        scored += row["scored_change"]
        quarter = row["quarter"]
        if isinstance(quarter, dt.datetime):
            quarter = quarter.date()
        points.append(TrendPoint(quarter=quarter, mean_score=total / scored if scored else None, scored=scored))
    return points


def _filtered(rows, filters, *, ignore=()):
    """``rows`` through the reader's (already validated) ``filters``, less those named in ``ignore``."""
    return filters.apply(rows, ignore=ignore)


class MeasureCounts:
    """
    Assessed ratings of some States counted measure by measure, as one reader may see them:
    a measure's counts are withheld when they count too few States hidden from the reader
    (``withholds_total``), and every sum of measures leaves the withheld ones out. Whether a
    measure is withheld is decided before the status filter, so that filtering by status
    cannot tell a State's status from the notice.
    """

    def __init__(self, *, shown_ids, hidden_in_scope, status=None):
        self.shown_ids, self.hidden_in_scope, self.wanted = shown_ids, hidden_in_scope, status
        self.per_measure = defaultdict(Tally)
        self.settled = False

    def add(self, state_id, measure_id, value):
        """Count one rating; whether it passes the status filter."""
        tally = self.per_measure[measure_id]
        if state_id not in self.shown_ids:
            tally.hidden.add(state_id)
        if self.wanted and value != self.wanted:
            return False
        tally.counts[_STATUSES[value]] += 1
        return True

    def settle(self):
        for tally in self.per_measure.values():
            tally.withhold(self.hidden_in_scope)
        self.settled = True
        return self

    def measure(self, measure_id):
        """One measure's tally; a measure nobody rated is withheld like one too few rated."""
        tally = self.per_measure.get(measure_id)
        return tally if tally is not None else Tally().withhold(self.hidden_in_scope)

    def total_of(self, measure_ids):
        """
        The sum of the tallies of ``measure_ids`` that are shown. It is withheld when States
        hidden from the reader are in scope and no measure is shown, and ``partial`` when
        it leaves out measures rated in these States whose counts are withheld.
        """
        assert self.settled, "settle() the counts before summing them"
        total, rated, shown = Tally(), 0, 0
        for measure_id in measure_ids:
            tally = self.per_measure.get(measure_id)
            if tally is None:
                continue
            rated += 1
            if not tally.withheld:
                shown += 1
                total.merge(tally)
        total.partial = shown < rated
        if self.hidden_in_scope and not shown:
            total.withheld = True
        return total

    @property
    def shown_measures(self):
        return [measure_id for measure_id, tally in self.per_measure.items() if not tally.withheld]

    @property
    def withheld_measures(self):
        return [measure_id for measure_id, tally in self.per_measure.items() if tally.withheld]


_STATUSES = {status.value: status for status in Status}


def _in_scope(state_ids, filters):
    """
    The States of ``state_ids`` that the State and region filters keep: the States a figure
    is about, from the memberships and the reader's choices alone, never from ratings.
    """
    cleaned = filters.form.cleaned_data
    if cleaned.get("state") is not None:
        state_ids = state_ids & {cleaned["state"].pk}
    if cleaned.get("region"):
        region = Region.objects.filter(slug=cleaned["region"]).first()
        members = set(MemberState.objects.in_region(region).values_list("pk", flat=True)) if region else set()
        state_ids = state_ids & members
    return state_ids


def _as_of(filters):
    return filters.form.cleaned_data.get("as_of")


# The overview


@dataclasses.dataclass(frozen=True)
class MapKey:
    """One entry of the map's legend: what a fill means, and the marks that tell it apart without colour."""

    slug: str  # names the SVG pattern, ``map-<slug>``
    # Translated lazily, so not compared: a key is told apart by its slug, whatever the language.
    label: str = dataclasses.field(compare=False)
    abbreviation: str = dataclasses.field(compare=False)
    colour: str
    pattern: str  # "solid", "dots", "lines", "cross" or "hatch"

    @property
    def fill(self):
        """The SVG fill: the colour itself, or the pattern (drawn over the colour) defined in the map."""
        return self.colour if self.pattern == "solid" else f"url(#map-{self.slug})"


# Each level keeps the colour of its status and adds marks of its own, so that a map
# printed in grey or read by someone who does not see the colours still tells them apart.
LEVEL_KEYS = {
    status: MapKey(status.value, status.label, status.abbreviation, status.colour, pattern)
    for status, pattern in zip([status for _, status in LEVELS], ["solid", "dots", "lines", "cross"], strict=True)
}
# A reader who sees the detail of this many States or fewer finds them named above the map.
SHARED_LIST_LENGTH = 5
# Its own marks (short dashes) as well as its grey, so that it is not told from "Implemented"
# (a plain fill) by colour alone.
NO_RATINGS = MapKey("none", gettext_lazy("No ratings yet"), "–", "#D5D9DE", "dashes")
NOT_SHARED = MapKey("hidden", gettext_lazy("Not shared with you"), "", "#EEF0F2", "hatch")


@dataclasses.dataclass
class MapState:
    state: MemberState
    shown: bool  # whether this reader may see the State's own figures
    tally: Tally

    @property
    def key(self):
        """How the map draws this State: its level, "no ratings yet", or "not shared" when hidden."""
        if not self.shown:
            return NOT_SHARED
        level = self.tally.level
        return LEVEL_KEYS[level] if level else NO_RATINGS

    @property
    def summary(self):
        """The State's figures in words, as its title on the map says them after its name."""
        t, texts = self.tally, _texts(get_language())
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
                "level": texts.labels[t.level],
                "abbreviation": texts.abbreviations[t.level],
                "share": texts.percent % {"share": t.percent_implemented},
                "score": format_decimal(t.mean_score, 1),
                "count": t.scored,
            }
        if t.total:
            return ngettext(
                "no scored ratings yet (%(count)s with no information or not applicable)",
                "no scored ratings yet (%(count)s with no information or not applicable)",
                t.total,
            ) % {"count": t.total}
        return texts.no_ratings_yet


@dataclasses.dataclass
class RegionCard:
    region: Region
    states: int
    tally: Tally
    workshop: Workshop | None


@dataclasses.dataclass
class Overview:
    as_of: dt.date | None
    states: list
    regions: list
    world_map: WorldMap | None = None  # the shapes of ``states``, in the same order
    domain: Measure.Domain | None = None  # the weapon domain the figures are narrowed to
    filtered: bool = False  # whether any filter narrows the figures
    can_record: bool = False  # whether the reader records assessments (an analyst)
    min_hidden = MIN_HIDDEN_STATES_IN_TOTAL  # for the pages' explanations of withheld totals

    @property
    def empty(self):
        # A withheld card counts as nothing: it may stand for no rating at all.
        return not any(card.tally.total for card in self.regions) and not any(s.tally.total for s in self.states)

    @property
    def withheld(self):
        """Whether any region's figures are withheld from this reader (``withholds_total``)."""
        return any(card.tally.withheld or card.tally.partial for card in self.regions)

    @property
    def partial(self):
        """Whether a region's totals leave out measures withheld from this reader."""
        return any(card.tally.partial for card in self.regions)

    @property
    def statuses(self):
        """Every status in chart order, for the legend of the region cards' bars."""
        return STATUS_ORDER

    @property
    def map_states(self):
        """
        (MapState, states.worldmap.Shape) pairs in the order of ``states``, except that small
        States come last: drawn after their neighbours, their markers stay on top.
        """
        if self.world_map is None:
            return []
        pairs = zip(self.states, self.world_map.shapes, strict=True)
        return sorted(pairs, key=lambda pair: pair[1].small)

    @property
    def shown_states(self):
        """The States whose detail this reader may see, by name."""
        return [s for s in self.states if s.shown]

    @property
    def shown_count(self):
        return len(self.shown_states)

    @property
    def shared_list(self):
        """The shown States, named above the map when the reader sees only a few; else empty."""
        return self.shown_states if self.hidden_count and self.shown_count <= SHARED_LIST_LENGTH else []

    @property
    def hidden_count(self):
        return len(self.states) - self.shown_count

    @property
    def map_legend(self):
        """(MapKey, number of States) for every level and "no ratings yet", then "not shared" if any are."""
        counts = Counter(s.key for s in self.states)
        keys = [*LEVEL_KEYS.values(), NO_RATINGS] + ([NOT_SHARED] if counts[NOT_SHARED] else [])
        return [(key, counts[key]) for key in keys]

    @property
    def map_patterns(self):
        """The legend keys drawn with a pattern, for the map's ``<defs>``."""
        return [key for key in [*LEVEL_KEYS.values(), NO_RATINGS, NOT_SHARED] if key.pattern != "solid"]

    @property
    def map_html(self):
        """
        Every State on the map: a ``<use>`` of its outline in the static outlines file
        (states.worldmap), filled with its level, a marker for small States, inside a link
        to its profile titled with its figures, or a "not shared" group titled with its name.
        Written here rather than in a template loop, like the heat map's cells: the
        outlines are not in the page, so these few tags per State are all it writes.
        """
        if self.world_map is None:
            return ""
        outlines = escape(self.world_map.outlines_url)
        state_url, named = state_urls(), _texts(get_language()).named
        parts = []
        for item, shape in self.map_states:
            iso3, fill = escape(shape.iso3), item.key.fill
            drawn = _MAP_STATE.format(iso3, outlines, iso3, fill)
            if shape.small:
                drawn += _MAP_MARKER.format(shape.cx, shape.cy, fill)
            if item.shown:
                url = escape(state_url(item.state.iso3))
                title = escape(named % {"name": item.state.name, "summary": item.summary})
                parts.append(_MAP_LINK.format(url, title, drawn))
            else:
                parts.append(_MAP_HIDDEN.format(escape(item.state.name), drawn))
        return mark_safe("\n".join(parts))


_MAP_STATE = '<use class="state" data-iso3="{}" href="{}#{}" fill="{}"/>'
_MAP_MARKER = '<circle class="marker" cx="{}" cy="{}" r="3.5" fill="{}"/>'
_MAP_LINK = '<a href="{}"><title>{}</title>{}</a>'
_MAP_HIDDEN = '<g class="not-shared"><title>{}</title>{}</g>'


def build_overview(*, user, filters):
    """
    Every Member State with its own level (for the States the reader may see), and a
    card for each workshop region with the region's totals.
    """
    # 1. Every State, flagged with whether its detail is visible to this reader.
    visible = MemberState.objects.visible_to(user).filter(pk=OuterRef("pk"))
    states = list(MemberState.objects.annotate(shown=Exists(visible)).order_by("name"))
    shown_ids = {state.pk for state in states if state.shown}
    # 2. Assessed statuses of the current edition, counted by State for the map: it needs
    # each State's tally, not its 71 cells. Unordered: the model's default ordering would
    # join and sort every row for nothing. Only the States shown are drawn with a level.
    as_of = _as_of(filters)
    assessed = Rating.objects.current_edition().filter(kind=ASSESSED)
    by_state = defaultdict(Tally)
    for state_id, status, count in _counted(_filtered(assessed, filters), "state_id", "status"):
        if state_id in shown_ids:
            by_state[state_id].counts[Status(status)] += count
    # 3. Workshop regions, 4. their workshops and 5. their members on the day.
    on = as_of or timezone.localdate()
    regions = list(
        Region.objects.filter(kind=Region.Kind.WORKSHOP)
        .prefetch_related(Prefetch("workshops", queryset=Workshop.objects.order_by("starts_on")))
        .order_by("name")
    )
    members, regions_of = defaultdict(set), defaultdict(list)
    for region_id, state_id in _memberships(regions, on):
        members[region_id].add(state_id)
        regions_of[state_id].append(region_id)
    # 6. The members' ratings by measure, for each card's totals, counted as the region page counts them.
    in_scope = _in_scope(set(regions_of), filters)
    counts = {
        region.pk: MeasureCounts(
            shown_ids=shown_ids,
            hidden_in_scope=len((members[region.pk] & in_scope) - shown_ids),
            status=filters.form.cleaned_data.get("status"),
        )
        for region in regions
    }
    rows = _filtered(assessed.filter(state__in=list(regions_of)), filters, ignore=["status"])
    for state_id, measure_id, value in rows.order_by().values_list("state_id", "measure_id", "status"):
        for region_id in regions_of[state_id]:
            counts[region_id].add(state_id, measure_id, value)
    cards = []
    for region in regions:
        region_counts = counts[region.pk].settle()
        card = region_counts.total_of(list(region_counts.per_measure))
        workshops = list(region.workshops.all())
        cards.append(RegionCard(region=region, states=len(members[region.pk]), tally=card, workshop=_first(workshops)))
    map_states = [
        MapState(state=state, shown=state.shown, tally=by_state[state.pk] if state.shown else Tally())
        for state in states
    ]
    cleaned = filters.form.cleaned_data
    return Overview(
        as_of=as_of,
        states=map_states,
        regions=cards,
        # The geometry is read from the committed file once per process: no query.
        world_map=shapes_for(states),
        domain=Measure.Domain(cleaned["domain"]) if cleaned.get("domain") else None,
        filtered=any(value not in (None, "") for value in cleaned.values()),
        # role_kinds is cached on the user by the view's own check: no query either.
        can_record=is_analyst(user),
    )


@functools.lru_cache(maxsize=8)
def _texts(language):
    """
    The words that pages write over and over (bars, map titles, trend points, a profile's sides
    and timeline), in ``language``: translated once per language rather than at each bar, side
    or row, as a translation costs a few microseconds and a page writes hundreds of them.
    Plain text (``_html_texts`` has it escaped for HTML); patterns are filled in by the caller.
    """
    with translation.override(language):
        rtl = translation.get_language_bidi()
        return types.SimpleNamespace(
            rtl=rtl,
            # From one status to the next, in the direction the line reads: arrows are not mirrored.
            arrow="←" if rtl else "→",
            labels={status: str(status.label) for status in Status},
            abbreviations={status: str(status.abbreviation) for status in Status},
            kinds={kind: str(kind.label) for kind in Rating.Kind},
            # Translators: joins the items of a list, e.g. "Implemented 3, Partially implemented 1".
            list_separator=pgettext("list separator", ", "),
            # Translators: a status and how many ratings have it, as a stacked bar's parts are listed.
            status_count=gettext("%(status)s %(count)s"),
            # Translators: a chart's or map's item and its figures, e.g. "Jamaica: Implemented 3".
            named=gettext("%(name)s: %(summary)s"),
            # Translators: a part of a stacked bar: status, number of ratings, share; e.g. "Implemented: 3 (60%)".
            segment_title=gettext("%(status)s: %(count)s (%(share)s)"),
            # Translators: a share in per cent, e.g. "12%" (French writes "12 %", Arabic "12٪").
            percent=gettext("%(share)s%%"),
            no_ratings=gettext("No ratings"),
            no_ratings_yet=gettext("no ratings yet"),
            # Translators: a mean score on the scale from 0 to 3, e.g. "2.1 / 3".
            out_of_3=gettext("%(score)s / 3"),
            # Translators: the share of ratings implemented or largely implemented, e.g. "40% implemented".
            share_implemented=gettext("%(share)s implemented"),
            not_scored=gettext("not scored"),
            # Translators: in place of a total's figures, e.g. "Withheld: it counts fewer than 3 States not
            # shared with you" (the reader could otherwise work out those States' ratings).
            withheld=gettext("Withheld: it counts fewer than %(minimum)s States not shared with you")
            % {"minimum": MIN_HIDDEN_STATES_IN_TOTAL},
            # Translators: beside a total that leaves out measures whose figures are withheld from the reader.
            partial=gettext("withheld measures left out"),
            # Translators: a quarter of a year, e.g. "Q3 2025".
            quarter=gettext("Q%(quarter)s %(year)s"),
            # Translators: a label of the trend chart's score axis: a score and the status it stands for,
            # e.g. "3 Implemented".
            score_label=gettext("%(score)s %(status)s"),
            # A State profile's rating sides.
            not_rated=gettext("Not rated yet."),
            # Translators: in place of the missing reason why a measure does not apply.
            not_given=gettext("not given"),
            why_not_applicable=gettext("Why not applicable:"),
            # Translators: the label before a rating's cited source.
            source=gettext("Source:"),
            no_source=gettext("No source cited."),
            # Translators: the assessment that set a rating, e.g. "From the country visit of 14 Mar 2024".
            from_assessment=gettext("From the %(kind)s of %(date)s"),
            last_confirmed=gettext("Last confirmed %(date)s"),
            over_12_months=gettext("over 12 months ago"),
            # A State profile's timeline: the labels of its columns (shown beside each value on a phone).
            timeline_labels={
                "when": gettext("When"),
                "measure": gettext("Measure"),
                "rating": gettext("Rating"),
                "change": pgettext("column header", "Change"),
                "why": gettext("Why"),
                "source": gettext("Source"),
                # Translators: the column of who made a change.
                "by": pgettext("column header", "By"),
            },
            rating_removed=gettext("Rating removed"),
            # Translators: before the status of a rating that was just created, e.g. "new: Implemented".
            new=gettext("new:"),
            # Translators: after a status that a change left as it was.
            unchanged=gettext("(unchanged)"),
            # Translators: the arrow between a rating's old and new status, as a screen reader reads it.
            to=pgettext("from one status to another", "to"),
        )


@functools.lru_cache(maxsize=8)
def _html_texts(language):
    """``_texts(language)`` with every text escaped for HTML, once."""

    def escaped(value):
        if isinstance(value, str):
            return escape(value)
        if isinstance(value, dict):
            return {key: escaped(item) for key, item in value.items()}
        return value

    return types.SimpleNamespace(**{name: escaped(value) for name, value in vars(_texts(language)).items()})


def escape(value):
    """
    ``value`` as text with ``& < > " '`` escaped, as ``django.utils.html.escape`` does, without its
    lazy-string wrapper, which cost more than the escaping in the loops that write the pages' cells.
    """
    return html.escape(str(value))


def format_decimal(value, places):
    """
    ``value`` (a finite float, ``None`` or a number) as ``{{ value|floatformat:places }}`` writes it, for
    ``places`` >= 0: rounded half up, localised. Pages write a few hundred such figures and the filter,
    which handles every kind of argument, was a good part of their time; other values go to the filter.
    """
    if value.__class__ is not float or not math.isfinite(value) or places < 0 or settings.USE_THOUSAND_SEPARATOR:
        return floatformat(value, places)
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    if not rounded:
        rounded = abs(rounded)  # the filter writes no "-0.0"
    return f"{rounded:f}".replace(".", get_format("DECIMAL_SEPARATOR"))


def state_urls():
    """
    A function giving the address of a State's profile from its ISO3 code, as ``reverse("state",
    args=[iso3])`` does. Pages link to up to 193 States: the URL is reversed once, for a stand-in
    code, and each State's code put in its place (codes are three capital letters, which need no
    quoting).
    """
    head, _, tail = reverse("state", args=[_STAND_IN]).rpartition(_STAND_IN)
    return lambda iso3: f"{head}{iso3}{tail}"


_STAND_IN = "QQQ"


def _counted(rows, *fields):
    """``(*fields, count)`` of ``rows`` grouped by ``fields``, in no particular order."""
    return rows.order_by().values_list(*fields).annotate(count=Count("pk"))


def _memberships(regions, on):
    return RegionMembership.objects.current(on).filter(region__in=regions).values_list("region_id", "state_id")


def _first(items):
    return items[0] if items else None


# A region


@dataclasses.dataclass
class StateRow:
    state: MemberState
    shown: bool
    tally: Tally
    divergent: int = 0


@dataclasses.dataclass
class MeasureTally:
    measure: Measure
    tally: Tally


@dataclasses.dataclass
class RegionBoard:
    region: Region
    as_of: dt.date | None
    states: list  # StateRow, by name
    sections: list  # (Section, [Measure]) in catalogue order, after the filters
    cells: dict  # (state_id, measure_id) -> Cell, for the States shown only
    total: Tally
    by_domain: list  # (Measure.Domain, Tally)
    by_section: list  # (Section, Tally)
    least_implemented: list  # MeasureTally, lowest mean score first
    trend: list  # TrendPoint
    workshops: list
    needs: list  # open AssistanceNeed of the States shown
    open_needs: int | None  # open needs of all the region's States; None when withheld (``withholds_total``)
    trend_withheld: bool = False  # the trend would count too few hidden States (``withholds_total``)
    filtered: bool = False  # whether any filter narrows the figures
    can_record: bool = False  # whether the reader records assessments (an analyst)
    min_hidden = MIN_HIDDEN_STATES_IN_TOTAL  # for the pages' explanations of withheld totals

    @property
    def shown_states(self):
        return [row for row in self.states if row.shown]

    @property
    def hidden_states(self):
        """How many of the region's States count in the totals without being shown to this reader."""
        return sum(1 for row in self.states if not row.shown)

    @property
    def measures(self):
        return [measure for _, measures in self.sections for measure in measures]

    @property
    def empty(self):
        return self.total.total == 0 and not self.total.withheld

    @property
    def withheld(self):
        """Whether any figure of the page is withheld from this reader (``withholds_total``)."""
        return self.trend_withheld or self.open_needs is None or any(t.withheld or t.partial for t in self._sums)

    @property
    def partial(self):
        """Whether a sum of measures on the page leaves out measures withheld from this reader."""
        return any(t.partial for t in self._sums)

    @property
    def _sums(self):
        return [self.total, *(t for _, t in self.by_domain), *(t for _, t in self.by_section)]

    @property
    def statuses(self):
        """Every status in chart order, for the legends."""
        return STATUS_ORDER

    @property
    def heatmap(self):
        """(Section, [HeatRow]) in catalogue order: a row per measure, a cell per State shown."""
        shown = [row.state for row in self.shown_states]
        # What each column's cells repeat, escaped once per State rather than once per cell. A State
        # with no rating has an empty profile, without a place for each measure: its cells link to the
        # profile itself, which says what to do.
        state_url = state_urls()
        columns = [(state.pk, escape(state_url(state.iso3)), state.rated, escape(state.name)) for state in shown]
        return [
            (section, [HeatRow(measure, columns, self.cells) for measure in measures])
            for section, measures in self.sections
        ]

    @property
    def trend_chart(self):
        """The trend laid out for drawing, with the workshops on it; None without history."""
        return TrendChart.lay_out(self.trend, self.workshops, end=self.as_of or timezone.localdate())

    # The bar charts' rows (``bar_row_html``), one property per list on the page.

    @property
    def total_bar(self):
        return bar_row_html(gettext("All measures, all States"), self.total)

    @property
    def domain_bars(self):
        return _joined(bar_row_html(domain.label, tally) for domain, tally in self.by_domain)

    @property
    def section_bars(self):
        return _joined(bar_row_html(str(section), tally) for section, tally in self.by_section)

    @property
    def least_bars(self):
        return _joined(
            bar_row_html(f"{item.measure.code} {item.measure.title}", item.tally) for item in self.least_implemented
        )

    @property
    def state_bars(self):
        state_url = state_urls()
        return _joined(
            bar_row_html(row.state.name, row.tally, href=state_url(row.state.iso3), differs=row.divergent)
            for row in self.shown_states
        )


def _joined(fragments):
    return mark_safe("".join(fragments))


@dataclasses.dataclass
class HeatRow:
    """One measure of a region's heat map."""

    measure: Measure
    # (MemberState pk, its profile's address, whether the profile lists its measures, its name), the
    # texts escaped, in the order of the columns
    columns: list
    cells: dict  # (state_id, measure_id) -> Cell, as RegionBoard.cells

    @property
    def cells_html(self):
        """
        The row's ``<td>`` cells. Written here rather than in template loops because a
        region of 40 States has some 3,000 of them: the template took about half a second
        for what this does in a few milliseconds (docs/performance.md). Each cell links to
        the State's profile at the measure and names itself in its SVG title; the
        measure's title heads the row, so cells give only its code. All that follows the
        State's name and the code depends only on the two statuses: made once per pair.
        """
        code, measure_id, cells = escape(self.measure.code), self.measure.pk, self.cells
        empty, language = Cell(), get_language()
        parts = []
        for state_id, url, rated, name in self.columns:
            cell = cells.get((state_id, measure_id), empty)
            title, end = _heat_cell(cell.assessed, cell.reported, language)
            href = f"{url}#measure-{code}" if rated else url
            parts.append(
                f'<td><a href="{href}"><svg role="img"><title>{title % {"state": name, "measure": code}}{end}'
            )
        return mark_safe("".join(parts))


@functools.cache
def _heat_cell(assessed, reported, language):
    """
    A heat-map cell's title, as a pattern still to be given the State's name and the measure's code
    (both escaped), and the rest of the cell after it, in ``language``: one of the few dozen pairs of
    statuses, each made once per language.
    """
    cell = Cell(assessed, reported)
    assessed, reported = cell.assessed_status, cell.reported_status
    with translation.override(language):
        if cell.diverges:
            # Translators: the title of a heat-map cell, e.g. "Jamaica, SALW-04. CTED assessment: Implemented.
            # Self-report: Partially implemented (differs)."
            title = gettext(
                "%(state)s, %(measure)s. CTED assessment: %(assessed)s. Self-report: %(reported)s (differs)."
            )
        else:
            # Translators: the title of a heat-map cell, e.g. "Jamaica, SALW-04. CTED assessment: Implemented.
            # Self-report: none."
            title = gettext("%(state)s, %(measure)s. CTED assessment: %(assessed)s. Self-report: %(reported)s.")
        # Translators: a heat-map cell's status where there is no rating.
        none = pgettext("no status", "none")
        # The statuses go in now, and the State and measure at each cell: the labels' own "%" doubled, so
        # that only the pattern's placeholders and "%%" are read then.
        title = (
            escape(title)
            .replace("%(assessed)s", escape(assessed.label if assessed else none).replace("%", "%%"))
            .replace("%(reported)s", escape(reported.label if reported else none).replace("%", "%%"))
        )
        end = _HEAT_CELL_END.format(
            _HEAT_RATED.format(assessed.colour, escape(assessed.abbreviation)) if assessed else _HEAT_UNRATED,
            _HEAT_DIFFERS if cell.diverges else "",
        )
    return title, end


_HEAT_CELL_END = "</title>{}{}</svg></a></td>"
_HEAT_RATED = '<rect width="100%" height="100%" fill="{}"/><text x="50%" y="50%">{}</text>'
_HEAT_UNRATED = '<rect class="unrated" width="100%" height="100%"/><text x="50%" y="50%">–</text>'
_HEAT_DIFFERS = '<use href="#hm-differs" x="100%"/>'


@dataclasses.dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    point: TrendPoint

    @property
    def quarter(self):
        """The quarter as people write it, e.g. "Q3 2025"."""
        day = self.point.quarter
        return _texts(get_language()).quarter % {"quarter": (day.month - 1) // 3 + 1, "year": day.year}


@dataclasses.dataclass(frozen=True)
class ChartMark:
    """A workshop on the trend: a vertical line at its first day, and a label beside it."""

    x: float
    label_y: float
    anchor: str  # "start" or "end": the label sits after the line, or before it near the far edge
    workshop: Workshop

    @property
    def planned(self):
        return self.workshop.status == Workshop.Status.PLANNED

    @property
    def label_x(self):
        return self.x + 4 if self.anchor == "start" else self.x - 4


@dataclasses.dataclass
class TrendChart:
    """
    The region's trend as an SVG line chart, in user units of a ``width`` × ``height``
    view box: years along the bottom, the mean score 0-3 up the side (labelled with the
    statuses it stands for), a line through the mean at the end of each quarter and a
    mark at each workshop. Geometry only; the template draws it.
    """

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    lines: list  # SVG path data, one per run of quarters that have a mean
    points: list  # ChartPoint
    x_ticks: list  # x of each 1 January
    years: list  # (x, year), in the middle of each year's span
    y_ticks: list  # (y, label), 0 to 3, each labelled with its score and status
    marks: list  # ChartMark

    WIDTH, HEIGHT = 640, 260
    # Room for the status names on the left (at least), the workshop labels on top, the years below.
    MARGINS = {"left": 188, "right": 16, "top": 48, "bottom": 30}
    # About how wide a character of the labels' 14-unit font is, in user units (Latin script; Arabic is narrower).
    CHARACTER_WIDTH = 7.3

    @classmethod
    def lay_out(cls, trend, workshops, *, end):
        if not trend:
            return None
        texts = _texts(get_language())
        scores = sorted((status.score, status) for status in STATUS_ORDER if status.score is not None)
        labels = [
            (score, texts.score_label % {"score": score, "status": texts.labels[status]}) for score, status in scores
        ]
        # Wide enough for the longest label, its gap to the axis and an edge: some languages name the statuses
        # at greater length than English, whose labels fit the usual margin.
        longest = max(len(label) for _, label in labels)
        left = max(cls.MARGINS["left"], 16 + math.ceil(cls.CHARACTER_WIDTH * longest))
        top = cls.MARGINS["top"]
        right, bottom = cls.WIDTH - cls.MARGINS["right"], cls.HEIGHT - cls.MARGINS["bottom"]
        # Cancelled workshops did not happen and will not: they are left off the chart.
        workshops = [w for w in workshops if w.status != Workshop.Status.CANCELLED]
        # Whole years, from the first quarter or workshop to the later of "as of" and the last workshop.
        first = min([trend[0].quarter, *(w.starts_on for w in workshops)])
        last = max([end, *(w.starts_on for w in workshops)])
        start, stop = dt.date(first.year, 1, 1), dt.date(last.year + 1, 1, 1)
        span = (stop - start).days

        def x(day):
            return round(left + (right - left) * (day - start).days / span, 1)

        def y(score):
            return round(bottom - (bottom - top) * score / 3, 1)

        points, lines, run = [], [], []
        for point in trend:
            if point.mean_score is None:
                run = []
                continue
            # The mean holds at the end of the quarter (or on the day shown, if sooner).
            quarter_end = _add_months(point.quarter, 3) - dt.timedelta(days=1)
            placed = ChartPoint(x(min(quarter_end, end)), y(point.mean_score), point)
            points.append(placed)
            if not run:
                lines.append(run)
            run.append(placed)
        paths = ["M" + " L".join(f"{p.x} {p.y}" for p in run) for run in lines]
        marks = []
        for index, workshop in enumerate(workshops):
            at = x(workshop.starts_on)
            anchor = "end" if at > left + (right - left) * 0.7 else "start"
            # Labels alternate between two lines so that workshops close in time do not overlap.
            marks.append(ChartMark(at, top - 8 - 16 * (index % 2), anchor, workshop))
        return cls(
            width=cls.WIDTH,
            height=cls.HEIGHT,
            left=left,
            right=right,
            top=top,
            bottom=bottom,
            lines=paths,
            points=points,
            x_ticks=[x(dt.date(year, 1, 1)) for year in range(start.year, stop.year + 1)],
            years=[(x(dt.date(year, 7, 2)), year) for year in range(start.year, stop.year)],
            y_ticks=[(y(score), label) for score, label in labels],
            marks=marks,
        )

    @property
    def year_label_y(self):
        return self.bottom + 20

    @property
    def score_label_x(self):
        return self.left - 8

    @property
    def points_svg(self):
        """A circle per quarter, titled with its mean score and how many ratings it is over."""
        parts = []
        for p in self.points:
            # Translators: a point of the trend chart, e.g. "Q3 2025: mean score 2.25 over 40 rated measures".
            title = ngettext(
                "%(quarter)s: mean score %(score)s over %(count)s rated measure",
                "%(quarter)s: mean score %(score)s over %(count)s rated measures",
                p.point.scored,
            ) % {"quarter": p.quarter, "score": format_decimal(p.point.mean_score, 2), "count": p.point.scored}
            parts.append(
                f'<circle class="trend-point" cx="{p.x}" cy="{p.y}" r="4"><title>{escape(title)}</title></circle>'
            )
        return mark_safe("".join(parts))

    @property
    def first(self):
        return self.points[0] if self.points else None

    @property
    def last(self):
        return self.points[-1] if self.points else None


def _add_months(day, months):
    month = day.month - 1 + months
    return dt.date(day.year + month // 12, month % 12 + 1, 1)


OPEN_NEEDS = [AssistanceNeed.Status.IDENTIFIED, AssistanceNeed.Status.REQUESTED, AssistanceNeed.Status.IN_DELIVERY]


def build_region_board(*, region, user, filters):
    """The heat map, progress, trend and open needs of ``region``, filtered by ``filters``."""
    as_of = _as_of(filters)
    on = as_of or timezone.localdate()
    # 1. The region's States on the day, flagged with whether this reader sees their detail.
    visible = MemberState.objects.visible_to(user).filter(pk=OuterRef("pk"))
    members = MemberState.objects.in_region(region, on)
    # ``rated``: whether the State's profile (unfiltered, today) lists its measures, for the heat map's links.
    rated = Rating.objects.current_edition().filter(state=OuterRef("pk"))
    states = list(members.annotate(shown=Exists(visible), rated=Exists(rated)).order_by("name"))
    shown_ids = {state.pk for state in states if state.shown}
    hidden_ids = {state.pk for state in states} - shown_ids
    in_scope = _in_scope({state.pk for state in states}, filters)
    # 2. The measures of the current edition that the filters keep, with their sections.
    measures = _filtered_measures(filters)
    # 3. Assessed statuses and 4. self-reports, both read without the status filter.
    rows = Rating.objects.current_edition().in_states(members)
    # Unordered: the model's default ordering would join and sort every row for nothing.
    assessed = (
        _filtered(rows.filter(kind=ASSESSED), filters, ignore=["status"])
        .order_by()
        .values_list("state_id", "measure_id", "status")
    )
    reported = _filtered(rows.filter(kind=SELF_REPORTED), filters, ignore=["status"]).order_by()
    cells = defaultdict(Cell)
    counts = MeasureCounts(
        shown_ids=shown_ids, hidden_in_scope=len(in_scope & hidden_ids), status=filters.form.cleaned_data.get("status")
    )
    per_state = defaultdict(Tally)
    for state_id, measure_id, value in assessed:
        # The status filter, as the FilterSet applies it (the status of the day, "as of" one).
        if counts.add(state_id, measure_id, value) and state_id in shown_ids:
            per_state[state_id].add(value)
            cells[state_id, measure_id].assessed = value
    for state_id, measure_id, status in reported.values_list("state_id", "measure_id", "status"):
        if state_id in shown_ids:
            cells[state_id, measure_id].reported = status
    divergent = Counter(state_id for (state_id, _), cell in cells.items() if cell.diverges)

    counts.settle()
    by_section, by_domain = {}, {}
    for measure in measures:
        by_section.setdefault(measure.section, []).append(measure.pk)
        by_domain.setdefault(Measure.Domain(measure.domain), []).append(measure.pk)
    total = counts.total_of([measure.pk for measure in measures])
    # A measure whose figures are withheld is left out of the ranking, not ranked as unrated.
    ranked = [MeasureTally(m, counts.measure(m.pk)) for m in measures]
    ranked = [item for item in ranked if item.tally.mean_score is not None]
    ranked.sort(key=lambda item: (item.tally.mean_score, item.measure.code))

    # 5. The trend, from the history of the same assessed ratings (the status filter aside)
    # of the measures shown, from the quarter when it counts enough hidden States.
    history = _filtered(
        Rating.history.current_edition().in_states(members).filter(kind=ASSESSED), filters, ignore=["status", "as_of"]
    )
    if as_of is not None:
        history = history.filter(history_date__lte=end_of_day(as_of))
    withheld_measures = counts.withheld_measures
    if withheld_measures:
        history = history.exclude(measure__in=withheld_measures)
    trend_from, trend_withheld = None, bool(counts.hidden_in_scope and not counts.shown_measures)
    if counts.hidden_in_scope and not trend_withheld:
        # (5a.) When each hidden State first counts in the trend: the points before the
        # third would show the sum of one or two hidden States.
        firsts = sorted(
            history.filter(state__in=in_scope & hidden_ids)
            .order_by()
            .values("state_id")
            .annotate(first=Min("history_date"))
            .values_list("first", flat=True)
        )
        trend_withheld = withholds_total(hidden_in_scope=counts.hidden_in_scope, hidden_counted=len(firsts))
        if not trend_withheld and len(firsts) >= MIN_HIDDEN_STATES_IN_TOTAL:
            trend_from = _quarter_of(firsts[MIN_HIDDEN_STATES_IN_TOTAL - 1])
    trend = [] if trend_withheld else quarterly_trend(history)
    if trend_from is not None:
        trend = [point for point in trend if point.quarter >= trend_from]
    # 6. Workshops, 7. open needs of the States shown (8. with their measures), 9. all open needs counted.
    needs = AssistanceNeed.objects.visible_to(user).filter(state__in=members, status__in=OPEN_NEEDS)
    open_needs = dict(
        AssistanceNeed.objects.filter(state__in=members, status__in=OPEN_NEEDS)
        .order_by()
        .values_list("state_id")
        .annotate(count=Count("pk"))
    )
    needs_withheld = withholds_total(
        hidden_in_scope=len(hidden_ids), hidden_counted=sum(1 for state_id in open_needs if state_id in hidden_ids)
    )
    return RegionBoard(
        region=region,
        as_of=as_of,
        states=[
            StateRow(state=s, shown=s.shown, tally=per_state[s.pk] if s.shown else Tally(), divergent=divergent[s.pk])
            for s in states
        ],
        sections=_group_by_section(measures),
        cells=dict(cells),
        total=total,
        by_domain=[(domain, counts.total_of(by_domain[domain])) for domain in Measure.Domain if domain in by_domain],
        by_section=[(section, counts.total_of(ids)) for section, ids in by_section.items()],
        least_implemented=ranked[:LEAST_IMPLEMENTED],
        trend=trend,
        trend_withheld=trend_withheld,
        workshops=list(region.workshops.order_by("starts_on")),
        needs=_with_summaries(
            needs.select_related("state")
            .prefetch_related("measures")
            .order_by(Priority.order_expression(), "state__name")
        ),
        open_needs=None if needs_withheld else sum(open_needs.values()),
        filtered=any(value not in (None, "") for value in filters.form.cleaned_data.values()),
        # role_kinds is cached on the user by the view's own check: no query.
        can_record=is_analyst(user),
    )


def _quarter_of(moment):
    """The first day of the quarter of ``moment``, in the site's time zone, as the trend's points are dated."""
    day = timezone.localtime(moment).date()
    return day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)


def _with_summaries(needs):
    """
    The needs, each with ``summary_html``: its line in the region page's list (the
    ``_region.html#need`` partial), written here rather than by a partial per need.
    """
    needs, state_url = list(needs), state_urls()
    named = _html_texts(get_language()).named
    # Translators: a technical-assistance need's priority and status, e.g. "(high priority, requested)".
    standing = escape(gettext("(%(priority)s priority, %(status)s)"))
    # Translators: the measures a technical-assistance need concerns, e.g. "Measures: SALW-04, SALW-06."
    concerns = escape(gettext("Measures: %(codes)s."))
    for need in needs:
        measures = ", ".join(f'<span class="code">{escape(m.code)}</span>' for m in need.measures.all())
        state = f'<a href="{escape(state_url(need.state.iso3))}">{escape(need.state.name)}</a>'
        priority, status = need.get_priority_display().lower(), need.get_status_display().lower()
        need.summary_html = mark_safe(
            f"<li>{named % {'name': state, 'summary': escape(need.get_kind_display())}}\n"
            f'  <span class="muted">{standing % {"priority": escape(priority), "status": escape(status)}}</span>\n'
            f"  <br>{escape(Truncator(need.description).words(24, truncate=' …'))}"
            + (f' <span class="muted">{concerns % {"codes": measures}}</span>' if measures else "")
            + "</li>"
        )
    return needs


def _filtered_measures(filters):
    """Measures of the current edition kept by the measure filters (domain, section, phase, capacity, code)."""
    measures = MeasureFilterSet.like(filters, Measure.objects.current().select_related("section")).qs
    return list(measures.order_by("section__position", "position", "code"))


def _group_by_section(measures):
    grouped = {}
    for measure in measures:
        grouped.setdefault(measure.section, []).append(measure)
    return list(grouped.items())


# A State


@dataclasses.dataclass
class RatingSide:
    """One of the two ratings of a measure on a State's profile, as the page shows it."""

    kind: Rating.Kind
    rating: object  # Rating (as it stood then, when "as of"), or None when not rated
    stale: bool
    assessment: object = None  # the shared assessment that set a CTED rating, if any

    @property
    def status(self):
        return Status(self.rating.status) if self.rating else None

    @property
    def not_applicable(self):
        return self.status == Status.NOT_APPLICABLE

    @property
    def html(self):
        """
        The side as the profile shows it: kind, status badge, explanation, the reason it does
        not apply, source, the assessment behind it and when it was last confirmed. Written
        here, not in a template partial: a profile has some 140 sides, and the partial's
        lookups took most of the page's time. Dates as the template's ``date`` filter writes them.
        """
        texts = _html_texts(get_language())
        kind = texts.kinds[self.kind]
        rating = self.rating
        if not rating:
            return mark_safe(_SIDE.format(kind, f'  <p class="muted side-text">{texts.not_rated}</p>\n'))
        status = self.status
        parts = [f'  <p class="side-status">{status_badge_html(status)}</p>\n']
        if rating.explanation:
            parts.append(f'  <p class="side-text">{escape(rating.explanation)}</p>\n')
        if self.not_applicable:
            # <bdi>: typed text keeps its own direction inside a sentence of the page's language.
            why = f"<bdi>{escape(rating.justification)}</bdi>" if rating.justification else texts.not_given
            parts.append(f'  <p class="side-text"><strong>{texts.why_not_applicable}</strong> {why}</p>\n')
        if rating.source_document or rating.source_url:
            source = f"<cite>{escape(rating.source_document)}</cite>" if rating.source_document else ""
            if rating.source_reference:
                source += f", <bdi>{escape(rating.source_reference)}</bdi>"
            if rating.source_date:
                source += f", {format_date(rating.source_date, 'j M Y')}"
            if rating.source_url:
                url = escape(rating.source_url)
                source += f'\n    <br><a class="source-url" href="{url}" rel="noopener noreferrer">{url}</a>'
            label = texts.source
            parts.append(f'  <p class="side-source"><span class="side-label">{label}</span>\n    {source}\n  </p>\n')
        else:
            parts.append(f'  <p class="side-source muted">{texts.no_source}</p>\n')
        meta = ""
        if self.assessment:
            assessment = self.assessment
            made_in = texts.from_assessment % {
                "kind": escape(assessment.get_kind_display().lower()),
                "date": format_date(assessment.conducted_on, "j M Y"),
            }
            meta = f"{made_in} · "
        confirmed = rating.last_confirmed_at
        when = f'<time datetime="{format_date(confirmed, "c")}">{format_date(confirmed, "j M Y")}</time>'
        meta += texts.last_confirmed % {"date": when} + (
            f' <span class="flag flag-stale">{texts.over_12_months}</span>' if self.stale else ""
        )
        parts.append(f'  <p class="side-meta">{meta}</p>\n')
        return mark_safe(_SIDE.format(kind, "".join(parts)))


_SIDE = '<div class="rating-side">\n  <p class="side-kind">{}</p>\n{}</div>\n'


def status_badge_html(status):
    """A status's colour swatch and label, as the ``_charts.html#status_badge`` partial writes it."""
    return (
        f'<span class="status-badge"><svg class="swatch" width="12" height="12" aria-hidden="true" focusable="false">'
        f'<rect width="12" height="12" fill="{status.colour}" stroke="#444"/></svg> '
        f"{_html_texts(get_language()).labels[status]}</span>"
    )


def format_date(value, format_string):
    """
    ``value`` as ``{{ value|date:format_string }}`` writes it: in the current time zone, localised,
    escaped. The two formats of the profile are written directly (a profile writes some 500 dates,
    and the general formatter translates the month's name each time); others go to ``date_format``.
    """
    value = template_localtime(value)
    if format_string == "j M Y":
        return f"{value.day} {_month_abbreviations(get_language())[value.month]} {value.year:04d}"
    if format_string == "c":
        return escape(value.isoformat())
    return escape(date_format(value, format_string))


@functools.lru_cache(maxsize=8)
def _month_abbreviations(language):
    """The date format's "M" (e.g. "Jan") of each month, index 1 to 12, in ``language``."""
    with translation.override(language):
        return [None, *(str(MONTHS_3[month]).title() for month in range(1, 13))]


@dataclasses.dataclass
class ProfileRow:
    measure: Measure
    assessed: object  # Rating, or its historical row when "as of"; None when not rated
    reported: object
    # The moment the profile describes (now, or the end of the "as of" day): a rating is
    # stale if it had gone unconfirmed for STALE_AFTER by then. None means now.
    at: dt.datetime | None = None
    assessment: object = None  # the assessment behind ``assessed``, when shared with the State

    # The row's properties are read several times each as the page is drawn: worked out once.

    @functools.cached_property
    def cell(self):
        return Cell(
            assessed=self.assessed.status if self.assessed else None,
            reported=self.reported.status if self.reported else None,
        )

    def _is_stale(self, rating):
        return rating is not None and rating.last_confirmed_at < (self.at or timezone.now()) - STALE_AFTER

    @functools.cached_property
    def stale(self):
        """Whether a rating shown here has gone unconfirmed past ``STALE_AFTER``."""
        return self._is_stale(self.assessed) or self._is_stale(self.reported)

    @property
    def sides_html(self):
        """Both sides, as ``RatingSide.html`` writes each."""
        return mark_safe("".join(side.html for side in self.sides))

    @functools.cached_property
    def sides(self):
        """CTED's assessment, then the State's self-report, each a ``RatingSide``."""
        return [
            RatingSide(ASSESSED, self.assessed, self._is_stale(self.assessed), self.assessment),
            RatingSide(SELF_REPORTED, self.reported, self._is_stale(self.reported)),
        ]


@dataclasses.dataclass
class StateProfile:
    state: MemberState
    as_of: dt.date | None
    regions: list
    sections: list  # (Section, [ProfileRow])
    tally: Tally
    # The latest TIMELINE_LENGTH historical rating rows, newest first, each with its
    # statuses as ``before`` (None for a new rating) and ``after``, and ``removed``.
    timeline: list
    recommendations: list  # open ones, each flagged ``overdue`` when past its due date on the day
    needs: list
    last_confirmed: dt.datetime | None
    # Every historical row of the timeline, newest first, for the download. A lazy
    # QuerySet: the page never reads it, an export reads it in one query.
    full_timeline: object = None
    timeline_truncated: bool = False  # whether the full timeline is longer than ``timeline``
    # What the reader can do about a State with no ratings: record an assessment
    # (analysts) or report the State's own status (its focal points).
    can_assess: bool = False
    can_report: bool = False

    @property
    def on(self):
        """The day the profile describes: the "as of" date, or today."""
        return self.as_of or timezone.localdate()

    @property
    def rows(self):
        return [row for _, rows in self.sections for row in rows]

    @property
    def statuses(self):
        """The assessed statuses present, best first: the key to the summary bar."""
        return [segment.status for segment in self.tally.segments]

    @property
    def rated(self):
        """How many measures shown have at least one rating."""
        return sum(1 for row in self.rows if row.assessed or row.reported)

    @property
    def empty(self):
        return not any(row.assessed or row.reported for row in self.rows)

    @property
    def divergent(self):
        return sum(1 for row in self.rows if row.cell.diverges)

    @property
    def stale(self):
        return sum(1 for row in self.rows if row.stale)

    @property
    def timeline_html(self):
        """The timeline's table rows: when, measure, which rating, the change, why, source and by whom."""
        texts = _html_texts(get_language())
        return mark_safe("".join(_timeline_row(change, texts) for change in self.timeline))


def _timeline_row(change, texts):
    """One row of the timeline; ``texts`` are ``_html_texts`` in the reader's language."""
    when = change.history_date
    by = change.history_user.get_username() if change.history_user else ""
    label = texts.timeline_labels
    time = f'<time datetime="{format_date(when, "c")}">{format_date(when, "j M Y")}</time>'
    return (
        "\n        <tr>\n"
        f'          <td data-label="{label["when"]}">{time}</td>\n'
        f'          <td data-label="{label["measure"]}">{escape(change.measure.code)}</td>\n'
        f'          <td data-label="{label["rating"]}">{texts.kinds[change.kind]}</td>\n'
        f'          <td data-label="{label["change"]}">{_change_html(change, texts)}</td>\n'
        f'          <td data-label="{label["why"]}">{escape(change.shown_reason or "–")}</td>\n'
        f'          <td data-label="{label["source"]}">{escape(change.source_document or "–")}</td>\n'
        f'          <td data-label="{label["by"]}">{escape(by or "–")}</td>\n'
        "        </tr>"
    )


def build_state_profile(*, state, user, filters):
    """
    Both ratings of every measure for ``state`` (already checked visible), its timeline
    and open items. The status filter does not apply: a profile lists every measure.
    """
    as_of = _as_of(filters)
    at = end_of_day(as_of) if as_of is not None else timezone.now()
    # 1. Measures kept by the filters, with sections; 2. the State's ratings of both kinds.
    measures = _filtered_measures(filters)
    # Unordered: they are looked up by measure and kind, and the default ordering costs a join and a sort.
    rows = _filtered(Rating.objects.current_edition().filter(state=state), filters, ignore=["status"]).order_by()
    ratings = {(r.measure_id, r.kind): r for r in rows}
    # 3. The assessments behind the CTED ratings, named only when shared with the State:
    # the profile is what the State may be handed, so a CTED-only one stays unnamed even
    # to an analyst (who finds it in Data entry).
    shared = Assessment.objects.visible_to(user).filter(state=state).exclude(confidentiality=Confidentiality.CTED_ONLY)
    assessments = {assessment.pk: assessment for assessment in shared}

    def row(measure):
        assessed = ratings.get((measure.pk, ASSESSED))
        assessment = assessments.get(assessed.assessment_id) if assessed else None
        return ProfileRow(measure, assessed, ratings.get((measure.pk, SELF_REPORTED)), at=at, assessment=assessment)

    sections = [(section, [row(m) for m in items]) for section, items in _group_by_section(measures)]
    # 4. The timeline of the measures the filters keep, newest first, with who made each
    # change and on which measure; one row more than shown says whether there are more.
    history = _filtered(Rating.history.filter(state=state), filters, ignore=["status", "as_of"])
    if as_of is not None:
        history = history.filter(history_date__lte=end_of_day(as_of))
    history = history.select_related("measure", "history_user").with_shown_reason(user)
    history = history.order_by("-history_date", "-history_id")
    timeline = list(history[: TIMELINE_LENGTH + 1])
    for change in timeline:
        change.before = Status(change.previous_status) if change.previous_status else None
        change.after = Status(change.status)
        change.removed = change.history_type == "-"
    # 5. Regions on the day; 6.-7. open recommendations and 8.-9. needs, with their measures.
    open_recommendations = [Recommendation.Status.OPEN, Recommendation.Status.IN_PROGRESS]
    recommendations = Recommendation.objects.visible_to(user).filter(state=state, status__in=open_recommendations)
    needs = AssistanceNeed.objects.visible_to(user).filter(state=state, status__in=OPEN_NEEDS)
    regions = Region.objects.filter(pk__in=_current_memberships(as_of).filter(state=state).values("region"))
    recommendations = list(
        recommendations.prefetch_related("measures").order_by(Priority.order_expression(), "due_on", "pk")
    )
    for item in recommendations:
        item.overdue = item.due_on is not None and item.due_on < (as_of or timezone.localdate())
    assessed = [r for (_, kind), r in ratings.items() if kind == ASSESSED]
    confirmed = [r.last_confirmed_at for r in ratings.values()]
    profile = StateProfile(
        state=state,
        as_of=as_of,
        regions=list(regions.order_by("name")),
        sections=sections,
        tally=tally(r.status for r in assessed),
        timeline=timeline[:TIMELINE_LENGTH],
        recommendations=recommendations,
        needs=list(needs.prefetch_related("measures").order_by(Priority.order_expression(), "pk")),
        last_confirmed=max(confirmed) if confirmed else None,
        full_timeline=history,
        timeline_truncated=len(timeline) > TIMELINE_LENGTH,
    )
    if profile.empty:
        # (10.) Asked only of an empty profile, which is all that shows it.
        profile.can_assess = is_analyst(user)
        profile.can_report = may_submit(user, state)
    return profile


def _change_html(change, texts):
    """What a timeline row changed, as the ``_state.html#change`` partial shows it: from and to, as badges."""
    if change.removed:
        return mark_safe(texts.rating_removed)
    after = status_badge_html(change.after)
    if change.before is None:
        return mark_safe(f'<span class="muted">{texts.new}</span> {after}')
    if change.before == change.after:
        return mark_safe(f'{after} <span class="muted">{texts.unchanged}</span>')
    arrow = f'<span aria-label="{texts.to}">{texts.arrow}</span>'
    return mark_safe(f"{status_badge_html(change.before)} {arrow} {after}")


def _current_memberships(as_of):
    return RegionMembership.objects.current(as_of)


__all__ = [
    "Section",
    "build_overview",
    "build_region_board",
    "build_state_profile",
]
