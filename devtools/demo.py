"""
Demo data: made-up but plausible assessments, ratings and rating history for the States
of the four workshop regions, and one login per role, so that every page has something
to show.

Everything made here is labelled. Assessments, recommendations and assistance needs have
``is_demo=True``; summaries, texts and notes start with "DEMO —"; every rating cites
"Demo data — not a real assessment". The statuses are drawn at random and say nothing
about any real State.

The same seed gives the same data: every random choice comes from one
``random.Random(seed)``, States and measures are walked in a fixed order, and every date
of the demo data is drawn between 1 January 2022 and 31 October 2026, never read from
the clock (only the accounts, made for today, carry today's date).

Ratings cannot be deleted (migration 0002 of implementation), so the data is made once:
a second run finds demo assessments and only ensures the accounts.
"""

import datetime as dt
import random
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Q
from simple_history.utils import bulk_create_with_history

from implementation import workflow
from implementation.filters import end_of_day, rows_as_of
from implementation.models import (
    Assessment,
    AssistanceNeed,
    Confidentiality,
    ConfidentialNote,
    Priority,
    Rating,
    Recommendation,
    Snapshot,
    SnapshotEntry,
    Submission,
)
from implementation.ratings import create_with_history
from measures.models import Edition, Measure
from states.models import MemberState, Region, RegionMembership, Role, Workshop

DEFAULT_SEED = 2370
DEMO_REGIONS = ("caribbean", "east-africa", "europe", "sahel-maghreb")
FIRST_DAY = dt.date(2022, 1, 1)
LAST_DAY = dt.date(2026, 10, 31)
# The last year of the period: ratings confirmed since then do not show as stale on 1 November 2026.
RECENTLY = dt.date(2025, 11, 1)
DEMO_MARK = "DEMO — "
DEMO_SOURCE = "Demo data — not a real assessment"
LOAD_REFERENCE_DATA = "run `python manage.py load_reference_data` first"

Status = Rating.Status


class DemoError(Exception):
    """Demo data cannot be made in this database; the message says why and what to do."""


@dataclass(frozen=True)
class DemoLogin:
    """One demo account; ``password`` is the one set by this run, ``None`` when the account kept its own."""

    username: str
    role: str
    created: bool
    password: str | None


@dataclass(frozen=True)
class DemoSummary:
    """What ``seed_demo`` did. ``created`` is false when demo data was already there and nothing was added."""

    created: bool
    states: int
    assessments: int
    ratings: int
    history_rows: int
    recommendations: int
    assistance_needs: int
    notes: int
    submissions: int
    snapshots: int
    logins: list[DemoLogin]


@transaction.atomic
def seed_demo(*, seed=DEFAULT_SEED, password=None):
    """
    Ensure the five demo accounts and their roles, then, unless demo assessments already
    exist, create demo data for every current member of the four workshop regions.

    ``password`` is set on every account when given; otherwise new accounts get a random
    one (returned in the logins) and existing accounts keep theirs. Raises ``DemoError``
    when the reference data is missing.
    """
    if password is not None and not password.strip():
        raise DemoError("The password cannot be empty.")
    reference = _reference_data()
    reset = password is not None
    users, logins = _ensure_accounts(reference, password if reset else secrets.token_urlsafe(12), reset=reset)
    if Assessment.objects.filter(is_demo=True).exists():
        return _existing_summary(logins)
    counts = _Builder(random.Random(seed), reference, users).build()
    _refresh_statistics()
    return DemoSummary(created=True, logins=logins, **counts)


def _refresh_statistics():
    """
    Have PostgreSQL sample the tables just filled. Its planner otherwise goes by the
    statistics of the last automatic ANALYZE, which may describe the tables before the
    seeding (empty, or a few rows) until autovacuum next passes, and may choose plans
    for a few rows that take minutes on thousands. ANALYZE reads a sample of each table:
    a second or two. (SQLite keeps no such statistics unless asked to.)
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


# Reference data and accounts


@dataclass(frozen=True)
class _Reference:
    measures: list
    regions: dict
    jam: MemberState
    ken: MemberState


def _reference_data():
    edition = Edition.objects.current()
    if edition is None or not MemberState.objects.exists():
        raise DemoError(f"There are no Member States or no current catalogue edition: {LOAD_REFERENCE_DATA}.")
    measures = list(Measure.objects.filter(edition=edition).order_by("code"))
    if not measures:
        raise DemoError(f"The current edition {edition.code} has no measures: {LOAD_REFERENCE_DATA}.")
    regions = Region.objects.in_bulk(DEMO_REGIONS, field_name="slug")
    missing = [slug for slug in DEMO_REGIONS if slug not in regions]
    if missing:
        raise DemoError(f"Missing region(s) {', '.join(missing)}: {LOAD_REFERENCE_DATA}.")
    states = MemberState.objects.in_bulk(["JAM", "KEN"], field_name="iso3")
    if len(states) < 2:
        raise DemoError(f"Jamaica and Kenya are missing: {LOAD_REFERENCE_DATA}.")
    return _Reference(measures=measures, regions=regions, jam=states["JAM"], ken=states["KEN"])


def _ensure_accounts(reference, password, *, reset):
    """Create missing accounts, give every one its role, and set ``password`` on new ones (on all if ``reset``)."""
    roles = {
        "analyst": dict(kind=Role.Kind.ANALYST),
        "coordinator": dict(kind=Role.Kind.COORDINATOR, region=reference.regions["caribbean"]),
        "focal-jam": dict(kind=Role.Kind.FOCAL_POINT, state=reference.jam, is_alternate=False),
        "focal-ken": dict(kind=Role.Kind.FOCAL_POINT, state=reference.ken, is_alternate=False),
    }
    accounts = [
        ("admin", "administrator (superuser)"),
        ("analyst", "CTED analyst"),
        ("coordinator", f"coordinator, {reference.regions['caribbean'].name}"),
        ("focal-jam", f"main focal point, {reference.jam.name}"),
        ("focal-ken", f"main focal point, {reference.ken.name}"),
    ]
    User = get_user_model()
    users, logins, hashed = {}, [], None
    for username, label in accounts:
        user = User.objects.filter(username=username).first()
        created = user is None
        if created:
            user = User(username=username)
        wanted = {"is_staff": True, "is_active": True}
        if username == "admin":
            wanted["is_superuser"] = True
        changed = created or any(getattr(user, name) != value for name, value in wanted.items())
        for name, value in wanted.items():
            setattr(user, name, value)
        if created or reset:
            # The accounts share one password, so hash it once: hashing is slow on purpose.
            hashed = hashed or make_password(password)
            user.password = hashed
        if changed:
            user.save()
        elif reset:
            # The password alone, which the accounts' history leaves out: a new password adds no history row.
            user.save(update_fields=["password"])
        if username in roles:
            _ensure_role(user, roles[username])
        users[username] = user
        logins.append(DemoLogin(username, label, created, password if created or reset else None))
    return users, logins


def _ensure_role(user, scope):
    if Role.objects.current().filter(user=user, **scope).exists():
        return
    if scope["kind"] == Role.Kind.FOCAL_POINT:
        # A person holds one focal-point role at a time and a State one main focal point;
        # say which role is in the way rather than fail on the constraint.
        clash = (
            Role.objects.overlapping(FIRST_DAY, None)
            .filter(Q(user=user) | Q(state=scope["state"], is_alternate=False), kind=Role.Kind.FOCAL_POINT)
            .select_related("user", "state")
            .first()
        )
        if clash:
            raise DemoError(
                f"Cannot make {user.username} the main focal point for {scope['state']}: "
                f"the active role '{clash}' is in the way. Deactivate it in the admin and run seed_demo again."
            )
    Role.objects.create(user=user, starts_on=FIRST_DAY, **scope)


def _existing_summary(logins):
    assessments = Assessment.objects.filter(is_demo=True)
    demo_ratings = Q(source_document__startswith=DEMO_SOURCE)
    return DemoSummary(
        created=False,
        states=assessments.values("state").distinct().count(),
        assessments=assessments.count(),
        ratings=Rating.objects.filter(demo_ratings).count(),
        history_rows=Rating.history.filter(demo_ratings).count(),
        recommendations=Recommendation.objects.filter(is_demo=True).count(),
        assistance_needs=AssistanceNeed.objects.filter(is_demo=True).count(),
        notes=ConfidentialNote.objects.filter(body__startswith=DEMO_MARK).count(),
        submissions=Submission.objects.filter(explanation__startswith=DEMO_MARK).count(),
        snapshots=Snapshot.objects.filter(label__startswith=DEMO_MARK).count(),
        logins=logins,
    )


# Texts the generator draws from. Short enough for a history reason (100 characters).

_SUMMARIES = {
    # Heading, then what the assessment covered.
    Assessment.Kind.DESK_REVIEW: (
        "Desk review of {state}",
        "Review of national legislation, regulations and reports against the Technical Guidelines.",
    ),
    Assessment.Kind.COUNTRY_VISIT: (
        "Country visit to {state}",
        "Meetings with the national firearms authority, customs, police and the civil aviation authority.",
    ),
    Assessment.Kind.FOLLOW_UP_VISIT: (
        "Follow-up visit to {state}",
        "Follow-up of the previous visit's recommendations; progress noted on record-keeping and border controls.",
    ),
    Assessment.Kind.SELF_ASSESSMENT: (
        "Self-assessment by {state}",
        "Questionnaire completed by the national focal point and reviewed by CTED.",
    ),
    Assessment.Kind.WORKSHOP: (
        "{state} at a regional workshop",
        "Bilateral session with the national delegation on the Technical Guidelines.",
    ),
}

_GAPS = {
    Measure.Domain.SALW: [
        "enforcement at land borders is uneven",
        "records are kept on paper and not centralised",
        "ammunition is not covered",
        "brokering is not regulated",
        "deactivated and converted weapons are not covered",
        "stockpile inspections are irregular",
    ],
    Measure.Domain.IED: [
        "the list of controlled precursors is shorter than international lists",
        "reporting of suspicious purchases by retailers is voluntary",
        "storage sites of mining companies are rarely inspected",
        "detonators are not individually marked",
        "online sales are not covered",
    ],
    Measure.Domain.UAS: [
        "registration covers only heavier drones",
        "there is no counter-UAS capacity at critical sites",
        "import controls do not cover components",
        "the civil aviation authority lacks enforcement staff",
        "no procedure exists for incidents involving drones",
    ],
    Measure.Domain.CROSS_CUTTING: [
        "inter-agency coordination is ad hoc",
        "there is no dedicated budget",
        "information is not shared with neighbouring States",
        "the national focal point has no deputy",
        "data on seizures are not consolidated",
    ],
}

_EVIDENCE = [
    "inspection records and court cases were seen",
    "licensing data for the last two years were provided",
    "training records of customs and police were provided",
    "the competent authority reported on its activity",
    "seizure statistics confirm the practice",
]

_NOT_APPLICABLE = {
    Measure.Domain.SALW: ["No manufacturing of small arms, light weapons or ammunition in the State."],
    Measure.Domain.IED: [
        "No mining or quarrying sector using commercial explosives; the armed forces hold all explosives.",
        "No production of the precursor chemicals concerned in the State.",
    ],
    Measure.Domain.UAS: [
        "No civil drone market and no manufacturing of UAS or UAS components; imports are prohibited.",
        "No manufacturing of UAS or UAS components in the State.",
    ],
    Measure.Domain.CROSS_CUTTING: ["The State has no land borders; the measure concerns land-border cooperation."],
}

_DOCUMENTS = {
    Measure.Domain.SALW: ["Firearms and Ammunition Act", "Arms Control Regulations", "National SALW Action Plan"],
    Measure.Domain.IED: ["Explosives Act", "Precursor Chemicals Regulations", "Mining (Explosives) Regulations"],
    Measure.Domain.UAS: [
        "Civil Aviation (Unmanned Aircraft) Regulations",
        "Drone Registration Order",
        "Critical Infrastructure Protection Plan",
    ],
    Measure.Domain.CROSS_CUTTING: [
        "National Counter-Terrorism Strategy",
        "Customs Act",
        "Decree on Inter-agency Coordination",
    ],
}

_REASONS = {
    Rating.Kind.ASSESSED: {
        "improved": [
            "New legislation reviewed",
            "Implementing regulation adopted and reviewed",
            "Evidence of enforcement received from the State",
            "Progress confirmed during the country visit",
            "Training records and inspection reports received",
        ],
        "worse": [
            "Downgraded: provisions not applied in practice",
            "Downgraded: regulation lapsed",
            "Downgraded after follow-up: registry not in use",
        ],
        "same": ["Reviewed: still holds", "Confirmed at follow-up", "Source updated to the latest text"],
        "not_applicable": ["Found not applicable; justification recorded"],
    },
    Rating.Kind.SELF_REPORTED: {
        "initial": ["Initial self-report from the national questionnaire"],
        "improved": [
            "Law adopted by Parliament",
            "Regulation published in the official gazette",
            "Agency established and staffed",
            "Training programme completed",
            "Update from the national focal point",
        ],
        "worse": ["Corrected: regulation still in draft", "Corrected: applies to part of the territory only"],
        "same": ["Confirmed by the focal point", "Source updated"],
        "not_applicable": ["Reported not applicable, with the reason"],
    },
}

_RECOMMENDATIONS = [
    "Adopt legislation or regulations giving effect to",
    "Designate a lead agency and adopt an action plan for",
    "Train the competent authorities on",
    "Set up a system to monitor and report on",
]

_NEEDS = {
    AssistanceNeed.Kind.LEGISLATIVE_DRAFTING: "Help drafting the law or regulation for",
    AssistanceNeed.Kind.TRAINING: "Training of officers on",
    AssistanceNeed.Kind.EQUIPMENT: "Equipment needed for",
    AssistanceNeed.Kind.INSTITUTIONAL: "Support to set up the institutions needed for",
}

_PROVIDERS = ["A United Nations entity (demo)", "A bilateral donor (demo)", "A regional organisation (demo)"]

_NOTES = [
    "Interlocutors at customs and police gave conflicting figures on seizures; read the self-report with care.",
    "The draft law is reportedly stalled in committee; follow up informally before the next visit.",
    "The focal point is leaving the ministry; ask the mission for a successor before the workshop.",
    "Donor coordination is weak: two partners plan overlapping training.",
]

# Each State draws a capacity; domains shift it (UAS controls are the newest and usually the
# weakest), and each measure adds noise. No region is favoured: the data are made up.
_DOMAIN_SHIFT = {
    Measure.Domain.SALW: 0.08,
    Measure.Domain.CROSS_CUTTING: 0.0,
    Measure.Domain.IED: -0.05,
    Measure.Domain.UAS: -0.22,
}
_LADDER = (Status.NO_INFORMATION, Status.NOT_IMPLEMENTED, Status.PARTIALLY, Status.LARGELY, Status.IMPLEMENTED)
_CTED_KINDS = (
    Assessment.Kind.DESK_REVIEW,
    Assessment.Kind.COUNTRY_VISIT,
    Assessment.Kind.FOLLOW_UP_VISIT,
    Assessment.Kind.WORKSHOP,
)


def _moment(rng, start, end=LAST_DAY):
    """A time in office hours (UTC) on a day from ``start`` to ``end``, both included."""
    day = start + dt.timedelta(days=rng.randint(0, max((end - start).days, 0)))
    return dt.datetime.combine(day, dt.time(rng.randint(7, 17), rng.randint(0, 59)), tzinfo=dt.UTC)


def _day(rng, start, end):
    return start + dt.timedelta(days=rng.randint(0, max((end - start).days, 0)))


class _Builder:
    """Draws and writes the demo data; one instance per run, consuming ``rng`` in a fixed order."""

    def __init__(self, rng, reference, users):
        self.rng = rng
        self.measures = reference.measures
        self.analyst = users["analyst"]
        self.focal_points = {reference.jam.pk: users["focal-jam"], reference.ken.pk: users["focal-ken"]}
        region_ids = [region.pk for region in reference.regions.values()]
        memberships = RegionMembership.objects.current().filter(region__in=region_ids).order_by("region__slug")
        self.regions_of = {}
        for state_id, region_id in memberships.values_list("state", "region"):
            self.regions_of.setdefault(state_id, []).append(region_id)
        self.states = list(MemberState.objects.filter(pk__in=self.regions_of).order_by("iso3"))
        self.workshops = {}
        held = Workshop.objects.filter(
            region__in=region_ids, status=Workshop.Status.HELD, starts_on__range=(FIRST_DAY, LAST_DAY)
        ).order_by("starts_on", "title")
        for workshop in held:
            self.workshops.setdefault(workshop.region_id, []).append(workshop)
        self.taken = set(Rating.objects.filter(state__in=self.states).values_list("state_id", "measure_id", "kind"))

    def build(self):
        assessments = {state.pk: self._assessments(state) for state in self.states}
        bulk_create_with_history(
            [assessment for rows in assessments.values() for assessment in rows], Assessment, batch_size=500
        )
        drawn = [rating for state in self.states for rating in self._ratings(state, assessments[state.pk])]
        ratings, history_rows = create_with_history(drawn)
        finals = {(r.state_id, r.measure_id): r.status for r in ratings if r.kind == Rating.Kind.ASSESSED}
        recommendations = self._recommendations(assessments, finals)
        needs = self._assistance_needs(assessments, finals)
        notes = self._notes(assessments)
        submissions, snapshots = self._workflow()
        return dict(
            states=len(self.states),
            assessments=sum(len(rows) for rows in assessments.values()),
            ratings=len(ratings),
            history_rows=history_rows,
            recommendations=recommendations,
            assistance_needs=needs,
            notes=notes,
            submissions=submissions,
            snapshots=snapshots,
        )

    # Assessments

    def _assessments(self, state):
        """One to three assessments spread over the period, oldest first, at least one by CTED."""
        rng = self.rng
        count = rng.choices((1, 2, 3), weights=(3, 4, 3))[0]
        kinds = []
        for _ in range(count):
            weights = {
                Assessment.Kind.DESK_REVIEW: 4,
                Assessment.Kind.SELF_ASSESSMENT: 2,
                Assessment.Kind.WORKSHOP: 2,
            }
            if Assessment.Kind.COUNTRY_VISIT in kinds:
                weights[Assessment.Kind.FOLLOW_UP_VISIT] = 6
            else:
                weights[Assessment.Kind.COUNTRY_VISIT] = 3
            kinds.append(rng.choices(list(weights), weights=list(weights.values()))[0])
        if all(kind == Assessment.Kind.SELF_ASSESSMENT for kind in kinds):
            kinds[0] = Assessment.Kind.DESK_REVIEW
        span = (LAST_DAY - FIRST_DAY).days
        workshops = [w for region in self.regions_of[state.pk] for w in self.workshops.get(region, [])]
        rows = []
        for index, kind in enumerate(kinds):
            start = FIRST_DAY + dt.timedelta(days=span * index // count + 14)
            end = FIRST_DAY + dt.timedelta(days=span * (index + 1) // count)
            day = _day(rng, start, end)
            heading, summary = _SUMMARIES[kind]
            if kind == Assessment.Kind.WORKSHOP and workshops:
                # Each workshop once: two assessments of one State on one day would be the same record twice.
                workshop = rng.choice(workshops)
                workshops.remove(workshop)
                day = workshop.starts_on
                summary = f"{summary} Workshop: {workshop.title}."
            rows.append(
                Assessment(
                    state=state,
                    kind=kind,
                    conducted_on=day,
                    author=self.focal_points.get(state.pk)
                    if kind == Assessment.Kind.SELF_ASSESSMENT
                    else self.analyst,
                    summary=f"{DEMO_MARK}{heading.format(state=state.name)}, {day:%B %Y}. {summary}",
                    confidentiality=(
                        Confidentiality.CTED_ONLY
                        if kind != Assessment.Kind.SELF_ASSESSMENT and rng.random() < 0.2
                        else Confidentiality.SHARED
                    ),
                    is_demo=True,
                )
            )
        # A workshop date can land out of order; the latest assessment is the one left in draft.
        rows.sort(key=lambda assessment: assessment.conducted_on)
        for index, assessment in enumerate(rows):
            is_draft = index == len(rows) - 1 and rng.random() < 0.3
            assessment.status = Assessment.Status.DRAFT if is_draft else Assessment.Status.FINAL
            assessment._history_date = _moment(rng, assessment.conducted_on, assessment.conducted_on)
            assessment._history_user = self.analyst
            assessment._change_reason = "Demo data"
        return rows

    # Ratings

    def _ratings(self, state, assessments):
        """Both ratings of every current measure not rated yet, each with the rows of its history."""
        rng = self.rng
        capacity = rng.uniform(0.15, 0.9)
        level = {domain: capacity + shift + rng.gauss(0, 0.08) for domain, shift in _DOMAIN_SHIFT.items()}
        no_information = 0.02 + (1 - capacity) * 0.08
        cted = [a for a in assessments if a.kind in _CTED_KINDS]
        own = [a for a in assessments if a.kind == Assessment.Kind.SELF_ASSESSMENT]
        self_reporter = self.focal_points.get(state.pk, self.analyst)
        # The self-report starts with the State's self-assessment or, without one, an earlier questionnaire.
        reported_from = own[0].conducted_on if own else _day(rng, FIRST_DAY, dt.date(2024, 6, 30))
        made = []
        for measure in self.measures:
            assessed = self._assessed_status(measure, level, no_information)
            justification = rng.choice(_NOT_APPLICABLE[measure.domain]) if assessed == Status.NOT_APPLICABLE else ""
            if (state.pk, measure.pk, Rating.Kind.ASSESSED) not in self.taken:
                made.append(
                    self._rating(
                        state, measure, Rating.Kind.ASSESSED, assessed, justification, self.analyst, assessments=cted
                    )
                )
            # Most States answer for most measures; their own view is often a step more optimistic.
            if rng.random() < 0.9 and (state.pk, measure.pk, Rating.Kind.SELF_REPORTED) not in self.taken:
                reported = self._self_reported_status(assessed)
                made.append(
                    self._rating(
                        state,
                        measure,
                        Rating.Kind.SELF_REPORTED,
                        reported,
                        justification,
                        self_reporter,
                        since=reported_from,
                    )
                )
        return made

    def _assessed_status(self, measure, level, no_information):
        rng = self.rng
        if rng.random() < (0.07 if measure.domain == Measure.Domain.UAS else 0.015):
            return Status.NOT_APPLICABLE
        if rng.random() < no_information:
            return Status.NO_INFORMATION
        latent = level[measure.domain] + rng.gauss(0, 0.15)
        for threshold, status in ((0.22, Status.NOT_IMPLEMENTED), (0.45, Status.PARTIALLY), (0.68, Status.LARGELY)):
            if latent < threshold:
                return status
        return Status.IMPLEMENTED

    def _self_reported_status(self, assessed):
        rng = self.rng
        if assessed == Status.NOT_APPLICABLE:
            return assessed
        if assessed == Status.NO_INFORMATION:
            # The State knows what CTED could not find out.
            return rng.choice((Status.NO_INFORMATION, Status.NOT_IMPLEMENTED, Status.PARTIALLY, Status.LARGELY))
        step, draw = _LADDER.index(assessed), rng.random()
        if draw < 0.4:
            return _LADDER[min(step + 1, len(_LADDER) - 1)]
        if draw < 0.48 and assessed != Status.NOT_IMPLEMENTED:
            return _LADDER[step - 1]
        return assessed

    def _rating(self, state, measure, kind, final, justification, user, *, since=None, assessments=()):
        """
        A rating's keys and its history as a list of ``(at, user, reason, values)``, oldest first.

        An assessed rating starts at the State's first CTED assessment (``assessments``, oldest
        first) and links the latest one before its last change; a self-report starts on ``since``.
        """
        rng = self.rng
        path = self._path(final)
        anchor = assessments[0].conducted_on if assessments else since
        moments = sorted([_moment(rng, anchor, anchor)] + [_moment(rng, anchor) for _ in path[1:]])
        # Most ratings were looked at in the last year; the rest are left to show as stale.
        if len(moments) > 1 and rng.random() < 0.75:
            moments[-1] = max(moments[-1], _moment(rng, max(anchor, RECENTLY), LAST_DAY))
        for index in range(1, len(moments)):
            moments[index] = max(moments[index], moments[index - 1] + dt.timedelta(minutes=7))
        document = rng.choice(_DOCUMENTS[measure.domain])
        reasons = _REASONS[kind]
        rows = []
        previous = set_at = None
        for status, at in zip(path, moments, strict=True):
            if previous is None and assessments:
                reason = f"Initial rating from the {assessments[0].get_kind_display().lower()}"
            elif previous is None:
                reason = rng.choice(reasons["initial"])
            elif status == previous:
                reason = rng.choice(reasons["same"])
            elif status == Status.NOT_APPLICABLE:
                reason = rng.choice(reasons["not_applicable"])
            elif _LADDER.index(status) > _LADDER.index(previous):
                reason = rng.choice(reasons["improved"])
            else:
                reason = rng.choice(reasons["worse"])
            if status == previous:
                # A confirmation keeps the wording; only a source update changes the citation.
                values = dict(rows[-1][3], last_confirmed_at=at)
                if reason.startswith("Source updated"):
                    values.update(self._citation(document, status, at))
                rows.append((at, user, reason, values))
                continue
            set_at = at
            values = dict(
                status=status,
                justification=justification if status == Status.NOT_APPLICABLE else "",
                explanation=self._explanation(measure, kind, status),
                assessment_id=None,
                set_by_id=user.pk,
                set_at=set_at,
                last_confirmed_at=at,
                **self._citation(document, status, at),
            )
            if kind == Rating.Kind.ASSESSED:
                values["assessment_id"] = [a for a in assessments if a.conducted_on <= set_at.date()][-1].pk
            rows.append((at, user, reason, values))
            previous = status
        return dict(state=state, measure=measure, kind=kind), rows

    def _path(self, final):
        """The statuses a rating went through, oldest first: one to four rows, usually improving."""
        rng = self.rng
        length = rng.choices((1, 2, 3, 4), weights=(25, 35, 25, 15))[0]
        path = [final]
        while len(path) < length:
            current, draw = path[0], rng.random()
            if current == Status.NOT_APPLICABLE:
                earlier = Status.NO_INFORMATION if draw < 0.6 else current
            elif current == Status.NO_INFORMATION:
                earlier = current
            elif draw < 0.7:
                earlier = _LADDER[_LADDER.index(current) - 1]
            elif draw < 0.8 and current != Status.IMPLEMENTED:
                earlier = _LADDER[_LADDER.index(current) + 1]
            else:
                earlier = current
            path.insert(0, earlier)
        return path

    def _explanation(self, measure, kind, status):
        rng = self.rng
        gap = rng.choice(_GAPS[measure.domain])
        match status:
            case Status.IMPLEMENTED:
                return f"In place and applied: {rng.choice(_EVIDENCE)}."
            case Status.LARGELY:
                return f"In place, but {gap}."
            case Status.PARTIALLY:
                return f"Partly in place or still in draft; {gap}."
            case Status.NOT_IMPLEMENTED:
                return "No law, regulation or practice found that gives effect to the measure."
            case Status.NO_INFORMATION:
                return "Not reported on yet." if kind == Rating.Kind.SELF_REPORTED else "No information available yet."
        return ""

    def _citation(self, document, status, at):
        rng = self.rng
        if status in (Status.NO_INFORMATION, Status.NOT_APPLICABLE):
            return dict(source_document=DEMO_SOURCE, source_reference="", source_url="", source_date=None)
        reference = rng.choice(("s. {}", "art. {}", "s. {}({})", "para. {}.{}")).format(
            rng.randint(2, 40), rng.randint(1, 6)
        )
        return dict(
            source_document=f"{DEMO_SOURCE}: {document}",
            source_reference=reference,
            source_url="",
            source_date=_day(rng, max(FIRST_DAY, at.date() - dt.timedelta(days=365)), at.date()),
        )

    # Recommendations, assistance needs and notes

    def _recommendations(self, assessments, finals):
        rng = self.rng
        made, links = [], []
        for state in self.states:
            latest = [a for a in assessments[state.pk] if a.kind in _CTED_KINDS][-1]
            weak = [
                m for m in self.measures if finals.get((state.pk, m.pk)) in (Status.NOT_IMPLEMENTED, Status.PARTIALLY)
            ]
            for first in rng.sample(weak, k=min(len(weak), rng.randint(1, 3))):
                # Sometimes a second measure of the same domain goes with it.
                related = [m for m in weak if m.domain == first.domain and m != first]
                concerned = [first, rng.choice(related)] if related and rng.random() < 0.4 else [first]
                recommendation = Recommendation(
                    state=state,
                    assessment=latest,
                    text=f"{DEMO_MARK}{rng.choice(_RECOMMENDATIONS)} {first.code} ({first.title}).",
                    priority=rng.choice(list(Priority)),
                    status=rng.choices(list(Recommendation.Status), weights=(5, 3, 2))[0],
                    due_on=min(LAST_DAY, latest.conducted_on + dt.timedelta(days=rng.randint(180, 720))),
                    is_demo=True,
                )
                recommendation._history_date = _moment(rng, latest.conducted_on, latest.conducted_on)
                recommendation._history_user = self.analyst
                recommendation._change_reason = "Demo data"
                made.append(recommendation)
                links.append(concerned)
        bulk_create_with_history(made, Recommendation, batch_size=500)
        Through = Recommendation.measures.through
        Through.objects.bulk_create(
            Through(recommendation_id=recommendation.pk, measure_id=measure.pk)
            for recommendation, concerned in zip(made, links, strict=True)
            for measure in concerned
        )
        return len(made)

    def _assistance_needs(self, assessments, finals):
        rng = self.rng
        made, links = [], []
        for state in self.states:
            latest = assessments[state.pk][-1]
            weak = [
                m for m in self.measures if finals.get((state.pk, m.pk)) in (Status.NOT_IMPLEMENTED, Status.PARTIALLY)
            ]
            for measure in rng.sample(weak, k=min(len(weak), rng.randint(0, 2))):
                kind = rng.choice(list(_NEEDS))
                status = rng.choices(list(AssistanceNeed.Status), weights=(4, 3, 2, 2, 1))[0]
                matched = status not in (AssistanceNeed.Status.IDENTIFIED, AssistanceNeed.Status.REQUESTED)
                need = AssistanceNeed(
                    state=state,
                    kind=kind,
                    description=f"{DEMO_MARK}{_NEEDS[kind]} {measure.code} ({measure.title}).",
                    priority=rng.choice(list(Priority)),
                    status=status,
                    provider=rng.choice(_PROVIDERS) if matched else "",
                    is_demo=True,
                )
                need._history_date = _moment(rng, latest.conducted_on)
                need._history_user = self.analyst
                need._change_reason = "Demo data"
                made.append(need)
                links.append(measure)
        bulk_create_with_history(made, AssistanceNeed, batch_size=500)
        Through = AssistanceNeed.measures.through
        Through.objects.bulk_create(
            Through(assistanceneed_id=need.pk, measure_id=measure.pk)
            for need, measure in zip(made, links, strict=True)
        )
        return len(made)

    def _notes(self, assessments):
        rng = self.rng
        made = []
        for state in self.states:
            if rng.random() >= 0.25:
                continue
            assessment = rng.choice(assessments[state.pk])
            note = ConfidentialNote(
                state=state,
                assessment=assessment,
                measure=rng.choice(self.measures) if rng.random() < 0.5 else None,
                body=f"{DEMO_MARK}{rng.choice(_NOTES)}",
                author=self.analyst,
            )
            note._history_date = _moment(rng, assessment.conducted_on, assessment.conducted_on)
            note._history_user = self.analyst
            note._change_reason = "Demo data"
            made.append(note)
        ConfidentialNote.objects.bulk_create(made)
        # created_at is auto_now_add, which bulk_create fills with the clock: put the drawn date back.
        for note in made:
            note.created_at = note._history_date
        ConfidentialNote.objects.bulk_update(made, ["created_at"])
        ConfidentialNote.history.bulk_history_create(made)
        return len(made)

    # The review workflow and snapshots, for the two focal points' States

    def _workflow(self):
        """
        For Jamaica and Kenya: a few submissions from their focal point (one accepted, one
        returned with a note, the rest waiting for review) and two snapshots to compare,
        "2024 follow-up" rebuilt from history and "2026 review" of today's ratings. It all
        happens on the evening of the last day, after every drawn office-hours change.
        """
        rng = self.rng
        evening = dt.datetime.combine(LAST_DAY, dt.time(18), tzinfo=dt.UTC)
        submissions = snapshots = 0
        for state in [s for s in self.states if s.pk in self.focal_points]:
            focal_point = self.focal_points[state.pk]
            self_reports = {
                r.measure_id: r for r in Rating.objects.filter(state=state, kind=Rating.Kind.SELF_REPORTED)
            }
            # Up to partially where there are enough of those, so that every such State shows submissions.
            below_top = [
                m for m in self.measures if m.pk in self_reports and self_reports[m.pk].status in _LADDER[:-1]
            ]
            weak = [m for m in below_top if self_reports[m.pk].status in _LADDER[:3]]
            if len(weak) < 5:
                weak = below_top
            for index, measure in enumerate(rng.sample(weak, k=min(5, len(weak)))):
                at = evening + dt.timedelta(minutes=10 * index)
                current = Status(self_reports[measure.pk].status)
                proposed = _LADDER[min(_LADDER.index(current) + 1, len(_LADDER) - 1)]
                document = rng.choice(_DOCUMENTS[measure.domain])
                submission = workflow.submit(
                    state=state,
                    measure=measure,
                    by=focal_point,
                    at=at,
                    status=proposed,
                    explanation=f"{DEMO_MARK}Updated: {rng.choice(_EVIDENCE)}.",
                    **self._citation(document, proposed, at),
                )
                if index == 0:
                    workflow.accept(
                        submission, by=self.analyst, at=at + dt.timedelta(minutes=5), note="Checked: demo data."
                    )
                elif index == 1:
                    workflow.return_submission(
                        submission,
                        by=self.analyst,
                        at=at + dt.timedelta(minutes=5),
                        note="Please cite the article that sets this out, and attach the gazette reference.",
                    )
                submissions += 1
            snapshots += self._snapshot_as_of(state, f"{DEMO_MARK}2024 follow-up", dt.date(2024, 12, 31))
            workflow.freeze(
                state=state, label=f"{DEMO_MARK}2026 review", by=self.analyst, at=evening + dt.timedelta(hours=2)
            )
            snapshots += 1
        return submissions, snapshots

    def _snapshot_as_of(self, state, label, day):
        """A snapshot of ``state`` as history says its ratings stood at the end of ``day``."""
        edition = self.measures[0].edition
        rows = list(rows_as_of(Rating.objects.filter(state=state, measure__edition=edition), day))
        if not rows:
            return 0
        snapshot = Snapshot.objects.create(
            state=state, label=label, edition=edition, taken_by=self.analyst, taken_at=end_of_day(day)
        )
        SnapshotEntry.objects.bulk_create(
            SnapshotEntry(
                snapshot=snapshot,
                **{field: getattr(row, field) for field in _SNAPSHOT_FIELDS},
            )
            for row in rows
        )
        return 1


_SNAPSHOT_FIELDS = (
    "measure_id",
    "kind",
    "set_by_id",
    "set_at",
    "last_confirmed_at",
    *workflow.SUBMITTED_FIELDS,
)
