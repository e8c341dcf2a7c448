"""A region's board: heat map, progress by domain and section, trend and open needs."""

import dataclasses
import datetime as dt
from collections import Counter, defaultdict

from django.db.models import Count, Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext

from measures.models import Measure, Section
from states.models import MIN_HIDDEN_STATES_IN_TOTAL, MemberState, Region, is_analyst, withholds_total

from ..filters import DEFAULT_SORT, HEATMAP_COLUMNS, end_of_day
from ..models import AssistanceNeed, Priority, Rating
from . import html
from .charts import TrendChart, TrendPoint, quarterly_trend
from .queries import OPEN_NEEDS, as_of, filtered, group_by_section, in_scope, measures_kept
from .tallies import STATUS_ORDER, Cell, MeasureCounts, Tally

ASSESSED = Rating.Kind.ASSESSED
SELF_REPORTED = Rating.Kind.SELF_REPORTED
LEAST_IMPLEMENTED = 10


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
    states: list[StateRow]
    sections: list  # (Section, [Measure])
    cells: dict  # (state_id, measure_id) -> Cell of the States shown
    total: Tally
    by_domain: list[tuple[Measure.Domain, Tally]]
    by_section: list[tuple[Section, Tally]]
    least_implemented: list[MeasureTally]
    trend: list[TrendPoint]
    workshops: list
    needs: list  # open needs of the States shown
    open_needs: int | None  # of all the region's States; None when withheld
    trend_withheld: bool = False
    filtered: bool = False
    can_record: bool = False
    min_hidden = MIN_HIDDEN_STATES_IN_TOTAL

    @property
    def shown_states(self):
        return [row for row in self.states if row.shown]

    @property
    def hidden_states(self):
        return sum(1 for row in self.states if not row.shown)

    @property
    def measures(self):
        return [measure for _, measures in self.sections for measure in measures]

    @property
    def empty(self):
        return self.total.total == 0 and not self.total.withheld

    @property
    def withheld(self):
        return self.trend_withheld or self.open_needs is None or any(t.withheld or t.partial for t in self._sums)

    @property
    def partial(self):
        return any(t.partial for t in self._sums)

    @property
    def _sums(self):
        return [self.total, *(t for _, t in self.by_domain), *(t for _, t in self.by_section)]

    @property
    def statuses(self):
        return STATUS_ORDER

    @property
    def heatmap(self):
        """(Section, [HeatRow]): a row per measure, a cell per State shown."""
        columns = html.heat_columns(row.state for row in self.shown_states)
        return [
            (section, [HeatRow(measure, columns, self.cells) for measure in measures])
            for section, measures in self.sections
        ]

    @property
    def trend_chart(self):
        return TrendChart.lay_out(self.trend, self.workshops, end=self.as_of or timezone.localdate())

    @property
    def total_bar(self):
        return html.bar_row(gettext("All measures, all States"), self.total)

    @property
    def domain_bars(self):
        return html.joined(html.bar_row(domain.label, tally) for domain, tally in self.by_domain)

    @property
    def section_bars(self):
        return html.joined(html.bar_row(str(section), tally) for section, tally in self.by_section)

    @property
    def least_bars(self):
        return html.joined(
            html.bar_row(f"{item.measure.code} {item.measure.title}", item.tally) for item in self.least_implemented
        )

    @property
    def state_bars(self):
        state_url = html.state_urls()
        return html.joined(
            html.bar_row(row.state.name, row.tally, href=state_url(row.state.iso3), differs=row.divergent)
            for row in self.shown_states
        )


@dataclasses.dataclass
class HeatRow:
    measure: Measure
    columns: list  # ``html.heat_columns`` of the States shown
    cells: dict

    @property
    def cells_html(self):
        return html.heat_cells(self.measure, self.columns, self.cells, Cell())


@dataclasses.dataclass
class HeatMapCells:
    """What the heat map and its data table read: the region's States, the measures kept and the cells shown."""

    states: list  # MemberState, with ``shown`` and ``rated``
    shown_ids: set
    hidden_ids: set
    scope: set  # the States the State and region filters keep
    measures: list
    cells: dict  # (state_id, measure_id) -> Cell of the States shown
    counts: MeasureCounts
    per_state: dict  # state_id -> Tally of the States shown


def read_heat_map(*, region, user, filters, on):
    """The cells of ``region`` on the day ``on`` that ``user`` may read through ``filters``, in four queries."""
    # 1. The region's States on the day, flagged when shown, and ``rated`` when their profile lists measures.
    visible = MemberState.objects.visible_to(user).filter(pk=OuterRef("pk"))
    members = MemberState.objects.in_region(region, on)
    rated = Rating.objects.current_edition().filter(state=OuterRef("pk"))
    states = list(members.annotate(shown=Exists(visible), rated=Exists(rated)).order_by("name"))
    shown_ids = {state.pk for state in states if state.shown}
    hidden_ids = {state.pk for state in states} - shown_ids
    scope = in_scope({state.pk for state in states}, filters)
    # 2. The measures the filters keep.
    measures = measures_kept(filters)
    # 3. Assessed statuses and 4. self-reports, both read without the status filter (unordered: docs/performance.md).
    rows = Rating.objects.current_edition().in_states(members)
    assessed = (
        filtered(rows.filter(kind=ASSESSED), filters, ignore=["status"])
        .order_by()
        .values_list("state_id", "measure_id", "status")
    )
    reported = filtered(rows.filter(kind=SELF_REPORTED), filters, ignore=["status"]).order_by()
    cells = defaultdict(Cell)
    counts = MeasureCounts(
        shown_ids=shown_ids, hidden_in_scope=len(scope & hidden_ids), status=filters.form.cleaned_data.get("status")
    )
    per_state = defaultdict(Tally)
    for state_id, measure_id, value in assessed:
        if counts.add(state_id, measure_id, value) and state_id in shown_ids:
            per_state[state_id].add(value)
            cells[state_id, measure_id].assessed = value
    for state_id, measure_id, status in reported.values_list("state_id", "measure_id", "status"):
        if state_id in shown_ids:
            cells[state_id, measure_id].reported = status
    return HeatMapCells(
        states=states,
        shown_ids=shown_ids,
        hidden_ids=hidden_ids,
        scope=scope,
        measures=measures,
        cells=dict(cells),
        counts=counts,
        per_state=per_state,
    )


def build_region_board(*, region, user, filters):
    """The heat map, progress, trend and open needs of ``region``, filtered by ``filters``."""
    day = as_of(filters)
    on = day or timezone.localdate()
    # 1.-4. The States, the measures and the cells (read_heat_map).
    read = read_heat_map(region=region, user=user, filters=filters, on=on)
    states, hidden_ids, scope = read.states, read.hidden_ids, read.scope
    measures, cells, counts, per_state = read.measures, read.cells, read.counts, read.per_state
    members = MemberState.objects.in_region(region, on)
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

    # 5. The trend of the measures shown, from the quarter when it counts enough hidden States.
    history = filtered(
        Rating.history.current_edition().in_states(members).filter(kind=ASSESSED), filters, ignore=["status", "as_of"]
    )
    if day is not None:
        history = history.filter(history_date__lte=end_of_day(day))
    withheld_measures = counts.withheld_measures
    if withheld_measures:
        history = history.exclude(measure__in=withheld_measures)
    trend_from, trend_withheld = None, bool(counts.hidden_in_scope and not counts.shown_measures)
    if counts.hidden_in_scope and not trend_withheld:
        # (5a.) When each hidden State first counts: points before the third would show one or two of them.
        firsts = sorted(history.filter(state__in=scope & hidden_ids).first_dates())
        trend_withheld = withholds_total(hidden_in_scope=counts.hidden_in_scope, hidden_counted=len(firsts))
        if not trend_withheld and len(firsts) >= MIN_HIDDEN_STATES_IN_TOTAL:
            trend_from = quarter_of(firsts[MIN_HIDDEN_STATES_IN_TOTAL - 1])
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
        as_of=day,
        states=[
            StateRow(state=s, shown=s.shown, tally=per_state[s.pk] if s.shown else Tally(), divergent=divergent[s.pk])
            for s in states
        ],
        sections=group_by_section(measures),
        cells=cells,
        total=total,
        by_domain=[(domain, counts.total_of(by_domain[domain])) for domain in Measure.Domain if domain in by_domain],
        by_section=[(section, counts.total_of(ids)) for section, ids in by_section.items()],
        least_implemented=ranked[:LEAST_IMPLEMENTED],
        trend=trend,
        trend_withheld=trend_withheld,
        workshops=list(region.workshops.order_by("starts_on")),
        needs=html.need_summaries(
            needs.select_related("state")
            .prefetch_related("measures")
            .order_by(Priority.order_expression(), "state__name")
        ),
        open_needs=None if needs_withheld else sum(open_needs.values()),
        filtered=any(value not in (None, "") for value in filters.form.cleaned_data.values()),
        # role_kinds is cached on the user by the view's own check: no query.
        can_record=is_analyst(user),
    )


def quarter_of(moment):
    """The first day of the quarter of ``moment`` in the site's time zone, as the trend dates its points."""
    day = timezone.localtime(moment).date()
    return day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)


@dataclasses.dataclass
class RegionTable:
    """A region's data table on a page of its own: a row per State shown × measure kept, in the order asked."""

    region: Region
    as_of: dt.date | None
    shown_states: list[StateRow]
    measures: list
    cells: dict  # (state_id, measure_id) -> Cell of the States shown
    sort: str
    filtered: bool = False
    page_size = 100

    @property
    def columns(self):
        """Each column's ``SortColumn``: its header, the order its link asks, and its ``aria-sort`` if sorted."""
        sorted_by, descending = self.sort.removeprefix("-"), self.sort.startswith("-")
        for name, header in HEATMAP_COLUMNS.items():
            if name != sorted_by:
                yield SortColumn(header, name, None)
            else:
                yield SortColumn(
                    header, name if descending else f"-{name}", "descending" if descending else "ascending"
                )


@dataclasses.dataclass(frozen=True)
class SortColumn:
    header: str
    link_sort: str
    aria_sort: str | None


def build_region_table(*, region, user, filters):
    """The rows of ``region``'s heat map that ``user`` may read through ``filters`` (a ``RegionTableFilterSet``)."""
    day = as_of(filters)
    read = read_heat_map(region=region, user=user, filters=filters, on=day or timezone.localdate())
    cleaned = filters.form.cleaned_data
    return RegionTable(
        region=region,
        as_of=day,
        shown_states=[StateRow(state=state, shown=True, tally=Tally()) for state in read.states if state.shown],
        measures=read.measures,
        cells=read.cells,
        sort=cleaned.get("sort") or DEFAULT_SORT,
        filtered=any(value not in (None, "") for name, value in cleaned.items() if name != "sort"),
    )
