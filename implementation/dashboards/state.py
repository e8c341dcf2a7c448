"""A Member State's profile: both ratings of every measure, its timeline and its open items."""

import dataclasses
import datetime as dt
import functools

from django.utils import timezone

from measures.models import Measure
from states.models import MemberState, Region, is_analyst

from ..filters import end_of_day
from ..models import STALE_AFTER, Assessment, AssistanceNeed, Confidentiality, Priority, Rating, Recommendation
from ..workflow import may_submit
from . import html
from .queries import OPEN_NEEDS, as_of, current_memberships, filtered, group_by_section, measures_kept
from .tallies import Cell, Status, Tally, tally

ASSESSED = Rating.Kind.ASSESSED
SELF_REPORTED = Rating.Kind.SELF_REPORTED
TIMELINE_LENGTH = 60


@dataclasses.dataclass
class RatingSide:
    """One of the two ratings of a measure on a State's profile, as the page shows it."""

    kind: Rating.Kind
    rating: object  # Rating, or its historical row when "as of"; None when not rated
    stale: bool
    assessment: object = None

    @property
    def status(self):
        return Status(self.rating.status) if self.rating else None

    @property
    def not_applicable(self):
        return self.status == Status.NOT_APPLICABLE

    @property
    def html(self):
        return html.rating_side(self)


@dataclasses.dataclass
class ProfileRow:
    measure: Measure
    assessed: object  # as RatingSide.rating
    reported: object
    # The moment the profile describes (None: now): a rating is stale if unconfirmed for STALE_AFTER by then.
    at: dt.datetime | None = None
    assessment: object = None

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
        return self._is_stale(self.assessed) or self._is_stale(self.reported)

    @property
    def sides_html(self):
        return html.joined(side.html for side in self.sides)

    @functools.cached_property
    def sides(self):
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
    # The latest TIMELINE_LENGTH history rows, newest first, each with ``before``, ``after`` and ``removed``.
    timeline: list
    recommendations: list  # open ones, each flagged ``overdue``
    needs: list
    last_confirmed: dt.datetime | None
    # Every history row of the timeline, newest first: a lazy QuerySet that only a download reads.
    full_timeline: object = None
    timeline_truncated: bool = False
    can_assess: bool = False
    can_report: bool = False

    @property
    def on(self):
        return self.as_of or timezone.localdate()

    @property
    def rows(self):
        return [row for _, rows in self.sections for row in rows]

    @property
    def statuses(self):
        return [segment.status for segment in self.tally.segments]

    @property
    def rated(self):
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
    def fresh_until(self):
        """
        The moment a rating shown today first passes ``STALE_AFTER`` unconfirmed, and so gains its flag: a copy
        of the page holds until then. ``None`` "as of" a past day, or with no rating yet to turn.
        """
        if self.as_of is not None:
            return None
        now = timezone.now()
        turning = [
            side.rating.last_confirmed_at + STALE_AFTER
            for row in self.rows
            for side in row.sides
            if side.rating is not None and side.rating.last_confirmed_at + STALE_AFTER > now
        ]
        return min(turning, default=None)

    @property
    def timeline_html(self):
        return html.timeline_rows(self.timeline)


def build_state_profile(*, state, user, filters):
    """Every measure of ``state`` (checked visible) with both ratings, whatever the status filter."""
    day = as_of(filters)
    at = end_of_day(day) if day is not None else timezone.now()
    # 1. Measures kept by the filters, with sections; 2. the State's ratings of both kinds (unordered: looked up).
    measures = measures_kept(filters)
    rows = filtered(Rating.objects.current_edition().filter(state=state), filters, ignore=["status"]).order_by()
    ratings = {(r.measure_id, r.kind): r for r in rows}
    # 3. The assessments behind the CTED ratings, named only when shared with the State: the profile is
    # what the State may be handed, so a CTED-only one stays unnamed even to an analyst.
    shared = Assessment.objects.visible_to(user).filter(state=state).exclude(confidentiality=Confidentiality.CTED_ONLY)
    assessments = {assessment.pk: assessment for assessment in shared}

    def row(measure):
        assessed = ratings.get((measure.pk, ASSESSED))
        assessment = assessments.get(assessed.assessment_id) if assessed else None
        return ProfileRow(measure, assessed, ratings.get((measure.pk, SELF_REPORTED)), at=at, assessment=assessment)

    sections = [(section, [row(m) for m in items]) for section, items in group_by_section(measures)]
    # 4. The timeline, newest first; one row more than shown says whether there are more.
    history = filtered(Rating.history.filter(state=state), filters, ignore=["status", "as_of"])
    if day is not None:
        history = history.filter(history_date__lte=end_of_day(day))
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
    regions = Region.objects.filter(pk__in=current_memberships(day).filter(state=state).values("region"))
    recommendations = list(
        recommendations.prefetch_related("measures").order_by(Priority.order_expression(), "due_on", "pk")
    )
    for item in recommendations:
        item.overdue = item.due_on is not None and item.due_on < (day or timezone.localdate())
    assessed = [r for (_, kind), r in ratings.items() if kind == ASSESSED]
    confirmed = [r.last_confirmed_at for r in ratings.values()]
    profile = StateProfile(
        state=state,
        as_of=day,
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
