"""
seed_demo: labelled, plausible and repeatable demo data, and one login per role.

A full seed writes some 11,000 ratings, so the checks share a Django ``TestCase`` whose
``setUpTestData`` seeds once per test run (plus two rolled-back runs for the determinism
test); each test runs in a savepoint and rolls back to it.
"""

import datetime as dt
import re
from io import StringIO

import factories
import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count
from django.test import TestCase, override_settings

from devtools.demo import DEMO_MARK, DEMO_REGIONS, DEMO_SOURCE, FIRST_DAY, LAST_DAY
from implementation.filters import rows_as_of
from implementation.models import (
    Assessment,
    AssistanceNeed,
    ConfidentialNote,
    Rating,
    Recommendation,
    Snapshot,
    Submission,
)
from implementation.workflow import compare_snapshots
from measures.models import Measure
from states.models import MemberState, RegionMembership, Role

User = get_user_model()
START = dt.datetime(2022, 1, 1, tzinfo=dt.UTC)
END = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
USERNAMES = ["admin", "analyst", "coordinator", "focal-jam", "focal-ken"]
# These tests check which password opens an account, not how it is hashed: hash fast.
FAST_HASHING = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])


def seed_demo(**options):
    """Run the command (tests run with DEBUG off, as production does); return what it printed."""
    out = StringIO()
    call_command("seed_demo", stdout=out, allow_without_debug=True, **options)
    return out.getvalue()


def load_reference_data():
    call_command("load_reference_data", stdout=StringIO())


def row_counts():
    """Rows in every table, history and many-to-many tables included."""
    return {model._meta.label: model._default_manager.count() for model in apps.get_models(include_auto_created=True)}


def snapshot():
    """What a dashboard shows, without database ids, which differ from run to run."""
    ratings = Rating.objects.order_by("state__iso3", "measure__code", "kind")
    return {
        "ratings": list(
            ratings.values_list(
                "state__iso3",
                "measure__code",
                "kind",
                "status",
                "set_at",
                "last_confirmed_at",
                "explanation",
                "source_reference",
            )
        ),
        "history": list(
            Rating.history.order_by("state__iso3", "measure__code", "kind", "history_date").values_list(
                "state__iso3", "measure__code", "kind", "history_date", "status", "history_change_reason"
            )
        ),
        # By every value compared: rows that tie on some come back from the database in any order.
        "assessments": list(
            Assessment.objects.order_by(
                "state__iso3", "conducted_on", "kind", "summary", "status", "confidentiality"
            ).values_list("state__iso3", "conducted_on", "kind", "status", "confidentiality", "summary")
        ),
        "recommendations": list(
            Recommendation.objects.order_by("state__iso3", "text").values_list("state__iso3", "text")
        ),
    }


@FAST_HASHING
class SeededDemoTests(TestCase):
    """One database seeded without --password, as a first-time user would run it."""

    @classmethod
    def setUpTestData(cls):
        load_reference_data()
        # Two runs rolled back to the reference data alone, for the determinism test.
        cls.runs = {}
        for seed in (8, 7):
            with transaction.atomic():
                seed_demo(seed=seed, password="rolled-back")
                cls.runs[seed] = snapshot()
                transaction.set_rollback(True)
        cls.output = seed_demo(seed=7)
        cls.password = re.search(r"^\s+admin\s.*password: (\S+)$", cls.output, re.MULTILINE).group(1)

    def test_same_seed_gives_the_same_data_and_another_seed_other_data(self):
        assert snapshot() == self.runs[7]
        assert self.runs[8]["ratings"] != self.runs[7]["ratings"]
        assert self.runs[8]["assessments"] != self.runs[7]["assessments"]

    def test_prints_a_summary_the_logins_and_where_to_go(self):
        assert "Created demo data (seed 7)" in self.output
        for username in USERNAMES:
            assert re.search(rf"^\s+{username}\s.*password: {re.escape(self.password)}$", self.output, re.MULTILINE)
        assert (
            "Open http://127.0.0.1:8000/ for the dashboards, http://127.0.0.1:8000/admin/ for data entry."
            in self.output
        )

    def test_generated_password_opens_all_five_staff_accounts(self):
        users = User.objects.filter(username__in=USERNAMES)
        assert sorted(user.username for user in users) == USERNAMES
        for user in users:
            assert user.is_staff and user.is_active
            assert user.check_password(self.password), user.username
        assert User.objects.get(username="admin").is_superuser

    def test_each_account_has_its_role(self):
        roles = {role.user.username: role for role in Role.objects.current().select_related("user", "state", "region")}
        assert roles.keys() == {"analyst", "coordinator", "focal-jam", "focal-ken"}
        assert roles["analyst"].kind == Role.Kind.ANALYST
        assert (roles["coordinator"].kind, roles["coordinator"].region.slug) == (Role.Kind.COORDINATOR, "caribbean")
        for username, iso3 in [("focal-jam", "JAM"), ("focal-ken", "KEN")]:
            role = roles[username]
            assert (role.kind, role.state.iso3, role.is_alternate) == (Role.Kind.FOCAL_POINT, iso3, False)

    def test_data_covers_exactly_the_states_of_the_four_regions(self):
        members = set(
            RegionMembership.objects.current().filter(region__slug__in=DEMO_REGIONS).values_list("state", flat=True)
        )
        assert len(members) > 60
        assert set(Assessment.objects.values_list("state", flat=True)) == members
        assert set(Rating.objects.values_list("state", flat=True)) == members
        for model in (Recommendation, AssistanceNeed, ConfidentialNote):
            assert set(model.objects.values_list("state", flat=True)) <= members

    def test_every_state_has_one_to_three_assessments_and_nearly_every_measure_rated(self):
        per_state = Assessment.objects.values("state").annotate(n=Count("id")).values_list("n", flat=True)
        assert set(per_state) <= {1, 2, 3}
        states = MemberState.objects.filter(assessments__isnull=False).distinct().count()
        measures = Measure.objects.current().count()
        assert Rating.objects.filter(kind=Rating.Kind.ASSESSED).count() == states * measures
        assert Rating.objects.filter(kind=Rating.Kind.SELF_REPORTED).count() > 0.8 * states * measures
        assert set(Assessment.objects.values_list("status", flat=True)) == set(Assessment.Status)
        assert set(Assessment.objects.values_list("confidentiality", flat=True)) == {"shared", "cted_only"}
        assert len(set(Assessment.objects.values_list("kind", flat=True))) >= 4

    def test_everything_is_labelled_as_demo(self):
        assert not Assessment.objects.exclude(is_demo=True).exists()
        assert not Assessment.objects.exclude(summary__startswith=DEMO_MARK).exists()
        assert not Rating.objects.exclude(source_document__startswith=DEMO_SOURCE).exists()
        assert not Recommendation.objects.exclude(is_demo=True).exists()
        assert not Recommendation.objects.exclude(text__startswith=DEMO_MARK).exists()
        assert not AssistanceNeed.objects.exclude(is_demo=True).exists()
        assert not AssistanceNeed.objects.exclude(description__startswith=DEMO_MARK).exists()
        assert ConfidentialNote.objects.exists()
        assert not ConfidentialNote.objects.exclude(body__startswith=DEMO_MARK).exists()

    def test_every_status_appears_and_not_applicable_says_why(self):
        for kind in Rating.Kind:
            statuses = set(Rating.objects.filter(kind=kind).values_list("status", flat=True))
            assert statuses == set(Rating.Status), kind
        not_applicable = Rating.objects.filter(status=Rating.Status.NOT_APPLICABLE)
        assert not_applicable.exists()
        assert not not_applicable.filter(justification="").exists()
        assert not Rating.objects.filter(status=Rating.Status.PARTIALLY, explanation="").exists()
        assert not Rating.objects.filter(status=Rating.Status.PARTIALLY, source_reference="").exists()

    def test_uas_is_weaker_than_small_arms(self):
        def share_implemented(domain):
            rated = Rating.objects.filter(kind=Rating.Kind.ASSESSED, measure__domain=domain)
            done = rated.filter(status__in=[Rating.Status.IMPLEMENTED, Rating.Status.LARGELY])
            return done.count() / rated.count()

        assert share_implemented(Measure.Domain.UAS) < share_implemented(Measure.Domain.SALW) - 0.15

    def test_self_reports_diverge_from_assessments_mostly_upwards(self):
        assessed = {
            (state, measure): status
            for state, measure, status in Rating.objects.filter(kind=Rating.Kind.ASSESSED).values_list(
                "state", "measure", "status"
            )
        }
        higher = lower = 0
        for state, measure, status in Rating.objects.filter(kind=Rating.Kind.SELF_REPORTED).values_list(
            "state", "measure", "status"
        ):
            mine, theirs = Rating.Status(status).score, Rating.Status(assessed[state, measure]).score
            if mine is not None and theirs is not None:
                higher += mine > theirs
                lower += mine < theirs
        assert higher > 500
        assert lower > 0
        assert higher > 2 * lower

    def test_dates_fall_between_january_2022_and_october_2026(self):
        History = Rating.history.model
        for queryset, field in [
            (Assessment.objects, "conducted_on"),
            (Rating.objects, "set_at"),
            (Rating.objects, "last_confirmed_at"),
            (Rating.objects.exclude(source_date=None), "source_date"),
            (History.objects, "history_date"),
            (Assessment.history, "history_date"),
            (Recommendation.objects.exclude(due_on=None), "due_on"),
            (ConfidentialNote.objects, "created_at"),
        ]:
            values = queryset.values_list(field, flat=True)
            low, high = min(values), max(values)
            if isinstance(low, dt.datetime):
                assert START <= low and high < END, field
            else:
                assert FIRST_DAY <= low and high <= LAST_DAY, field
        assert Rating.objects.filter(last_confirmed_at__lt=dt.datetime(2025, 11, 1, tzinfo=dt.UTC)).exists()
        assert Rating.objects.filter(last_confirmed_at__gte=dt.datetime(2025, 11, 1, tzinfo=dt.UTC)).exists()

    def test_every_rating_has_a_history_ending_in_its_current_values(self):
        History = Rating.history.model
        fields = [field.attname for field in History.tracked_fields]
        last, rows = {}, {}
        history = History.objects.order_by("history_date", "history_id")
        for row in history.values("history_type", "previous_status", *fields):
            rows[row["id"]] = rows.get(row["id"], 0) + 1
            if rows[row["id"]] == 1:
                assert (row["history_type"], row["previous_status"]) == ("+", "")
            else:
                assert row["history_type"] == "~"
                assert row["previous_status"] == last[row["id"]]["status"]
            last[row["id"]] = {field: row[field] for field in fields}
        current = {row["id"]: row for row in Rating.objects.values(*fields)}
        assert last == current
        assert sum(1 for count in rows.values() if count >= 3) > 1000
        # Up to four drawn changes, and one more where a demo submission was accepted.
        accepted = set(
            History.objects.filter(
                history_change_reason__regex=r"^Submission by focal-(jam|ken) of .* accepted"
            ).values_list("id", flat=True)
        )
        assert len(accepted) == 2
        assert max(count for pk, count in rows.items() if pk not in accepted) == 4
        assert all(rows[pk] >= 2 for pk in accepted)
        assert not History.objects.filter(history_change_reason="").exists()
        users = set(History.objects.values_list("history_user__username", flat=True))
        assert users == {"analyst", "focal-jam", "focal-ken"}

    def test_focal_points_states_have_submissions_in_every_state_of_review(self):
        for iso3, focal_point in (("JAM", "focal-jam"), ("KEN", "focal-ken")):
            submissions = Submission.objects.filter(state__iso3=iso3)
            assert set(submissions.values_list("submitted_by__username", flat=True)) == {focal_point}
            reviews = sorted(submissions.values_list("review", flat=True))
            assert reviews == ["accepted", "pending", "pending", "pending", "returned"]
            returned = submissions.get(review="returned")
            assert returned.review_note and returned.reviewed_by.username == "analyst"
            accepted = submissions.get(review="accepted")
            self_report = Rating.objects.get(state=accepted.state, measure=accepted.measure, kind="self_reported")
            assert (self_report.status, self_report.explanation) == (accepted.status, accepted.explanation)
            # Each pending one proposes a step up from the self-report it would replace.
            for pending in submissions.filter(review="pending"):
                current = Rating.objects.get(state=pending.state, measure=pending.measure, kind="self_reported")
                assert Rating.Status(pending.status).score > (Rating.Status(current.status).score or -1)

    def test_two_snapshots_per_focal_points_state_that_differ(self):
        for iso3 in ("JAM", "KEN"):
            earlier, later = Snapshot.objects.filter(state__iso3=iso3).order_by("taken_at")
            assert (earlier.label, later.label) == ("DEMO — 2024 follow-up", "DEMO — 2026 review")
            # The earlier one is history as of the end of 2024, entry by entry.
            as_of = {
                (row.measure_id, row.kind): row.status
                for row in rows_as_of(Rating.objects.filter(state__iso3=iso3), dt.date(2024, 12, 31))
            }
            assert {(e.measure_id, e.kind): e.status for e in earlier.entries.all()} == as_of
            now = {(r.measure_id, r.kind): r.status for r in Rating.objects.filter(state__iso3=iso3)}
            assert {(e.measure_id, e.kind): e.status for e in later.entries.all()} == now
            assert any(row.changed_kinds for row in compare_snapshots(earlier, later))

    def test_history_mostly_shows_progress(self):
        History = Rating.history.model
        previous, better, worse = {}, 0, 0
        for rating, status in History.objects.order_by("history_date", "history_id").values_list("id", "status"):
            before = previous.get(rating)
            if before and Rating.Status(before).score is not None and Rating.Status(status).score is not None:
                better += Rating.Status(status).score > Rating.Status(before).score
                worse += Rating.Status(status).score < Rating.Status(before).score
            previous[rating] = status
        assert better > 3 * worse > 0

    def test_assessed_ratings_link_an_earlier_assessment_of_their_state(self):
        assessed = Rating.objects.filter(kind=Rating.Kind.ASSESSED).select_related("assessment")
        assert not assessed.filter(assessment=None).exists()
        for rating in assessed.filter(measure__code=Measure.objects.current().order_by("code")[0].code):
            assert rating.assessment.state_id == rating.state_id
            assert rating.assessment.conducted_on <= rating.set_at.date()
            assert rating.assessment.kind != Assessment.Kind.SELF_ASSESSMENT

    def test_recommendations_and_needs_name_their_measures(self):
        assert Recommendation.objects.count() > 20
        assert not Recommendation.objects.filter(measures=None).exists()
        assert set(Recommendation.objects.values_list("status", flat=True)) == set(Recommendation.Status)
        assert AssistanceNeed.objects.count() > 10
        assert not AssistanceNeed.objects.filter(measures=None).exists()

    def test_second_run_adds_nothing_and_keeps_passwords(self):
        before = row_counts()
        output = seed_demo(seed=7)
        assert row_counts() == before
        assert "already present" in output
        assert "existing account, password unchanged" in output
        assert "seed_demo --password NEW" in output
        for user in User.objects.filter(username__in=USERNAMES):
            assert user.check_password(self.password)

    def test_second_run_with_a_password_resets_it_and_adds_no_data(self):
        before = row_counts()
        seed_demo(seed=8, password="a-new-demo-password")
        assert row_counts() == before
        for user in User.objects.filter(username__in=USERNAMES):
            assert user.check_password("a-new-demo-password")

    def test_second_run_restores_a_deactivated_role(self):
        Role.objects.filter(user__username="analyst").update(is_active=False)
        seed_demo()
        assert Role.objects.current().filter(user__username="analyst", kind=Role.Kind.ANALYST).exists()


def test_without_reference_data_it_says_to_load_it(db):
    with pytest.raises(CommandError, match=r"python manage\.py load_reference_data"):
        seed_demo()
    assert not User.objects.exists()


@FAST_HASHING
def test_another_main_focal_point_for_jamaica_is_reported(db):
    load_reference_data()
    jamaica = MemberState.objects.get(iso3="JAM")
    factories.user(username="someone", role=Role.Kind.FOCAL_POINT, state=jamaica, is_staff=False)
    with pytest.raises(CommandError, match="focal-jam.*Jamaica.*someone"):
        seed_demo(password="whatever")
    assert not Assessment.objects.exists()


def test_an_empty_password_is_refused(db):
    with pytest.raises(CommandError, match="cannot be empty"):
        seed_demo(password="")


def test_with_debug_off_it_refuses_unless_told_twice(world):
    # world gives it reference data enough to proceed, were it not refused.
    with pytest.raises(CommandError, match="--allow-without-debug"):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.filter(username="admin").exists()


@pytest.mark.postgres
def test_the_seeding_leaves_postgresql_statistics_of_the_rows_it_wrote(db):
    from django.db import connection

    load_reference_data()
    with connection.cursor() as cursor:
        # Statistics of the empty tables, as an automatic ANALYZE before the seeding would leave them.
        cursor.execute("ANALYZE implementation_rating, implementation_historicalrating")
        seed_demo()
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class "
            "WHERE relname IN ('implementation_rating', 'implementation_historicalrating')"
        )
        estimated = dict(cursor.fetchall())
    # ANALYZE samples, so its estimate is close to the count rather than equal to it.
    assert estimated["implementation_rating"] == pytest.approx(Rating.objects.count(), rel=0.1)
    assert estimated["implementation_historicalrating"] == pytest.approx(Rating.history.count(), rel=0.1)
