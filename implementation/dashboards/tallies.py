"""Ratings counted by status, and the rule that withholds counts of too few hidden States."""

import dataclasses
from collections import Counter, defaultdict

from django.utils.translation import get_language

from states.models import MIN_HIDDEN_STATES_IN_TOTAL, withholds_total

from ..models import Rating
from . import html
from .texts import texts

Status = Rating.Status
STATUS_ORDER = list(Status)
SCORES = {status: status.score for status in Status if status.score is not None}
IMPLEMENTED = [status for status in Status if status.counts_as_implemented]
STATUSES = {status.value: status for status in Status}
# The bands of a mean score (0-3), each drawn like a status.
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
    # The States hidden from the reader rated here, whatever the status: the status filter must not decide.
    hidden: set = dataclasses.field(default_factory=set)
    withheld: bool = False
    partial: bool = False  # a sum that leaves out withheld measures
    min_hidden = MIN_HIDDEN_STATES_IN_TOTAL

    def add(self, status):
        self.counts[Status(status)] += 1

    def merge(self, other):
        self.counts.update(other.counts)
        self.hidden |= other.hidden

    def withhold(self, hidden_in_scope):
        """Clear the counts if they count too few hidden States, so that nothing can show them; the tally."""
        if withholds_total(hidden_in_scope=hidden_in_scope, hidden_counted=len(self.hidden)):
            self.counts.clear()
            self.withheld = True
        return self

    @property
    def total(self):
        return sum(self.counts.values())

    @property
    def scored(self):
        counts = self.counts
        return sum(counts[status] for status in SCORES)

    @property
    def mean_score(self):
        """0 (none implemented) to 3 (all implemented); None with none scored."""
        counts = self.counts
        scored = sum(counts[status] for status in SCORES)
        if not scored:
            return None
        return sum(score * counts[status] for status, score in SCORES.items()) / scored

    @property
    def percent_implemented(self):
        scored = self.scored
        if not scored:
            return None
        counts = self.counts
        return round(100 * sum(counts[status] for status in IMPLEMENTED) / scored)

    @property
    def level(self):
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
        words = texts(get_language())
        return words.list_separator.join(
            words.status_count % {"status": words.labels[segment.status], "count": segment.count}
            for segment in self.segments
        )

    @property
    def segments_svg(self):
        return html.segments_svg(self)


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
        return bool(self.assessed and self.reported and self.assessed != self.reported)


class MeasureCounts:
    """
    Assessed ratings counted by measure for one reader: a measure that counts too few hidden States
    is withheld, decided before the status filter (which must not tell a State's status).
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
        tally.counts[STATUSES[value]] += 1
        return True

    def settle(self):
        for tally in self.per_measure.values():
            tally.withhold(self.hidden_in_scope)
        self.settled = True
        return self

    def measure(self, measure_id):
        # A measure nobody rated is withheld like one too few rated.
        tally = self.per_measure.get(measure_id)
        return tally if tally is not None else Tally().withhold(self.hidden_in_scope)

    def total_of(self, measure_ids):
        """The sum of the shown tallies of ``measure_ids``, ``partial`` if it leaves withheld ones out."""
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
