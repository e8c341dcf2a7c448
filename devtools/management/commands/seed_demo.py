import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devtools.demo import DEFAULT_SEED, DemoError, seed_demo


class Command(BaseCommand):
    help = (
        "Fill the database with made-up data labelled as demo: assessments, ratings with their history, "
        "recommendations and assistance needs for the States of the Caribbean, East Africa, Europe and "
        "Sahel-Maghreb regions, plus five staff logins (admin, analyst, coordinator, focal-jam, focal-ken). "
        "Needs load_reference_data first. The same seed gives the same data. Once demo data exists, running "
        "it again adds nothing; existing accounts keep their password unless --password is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help=f"Seed for the random draws (default {DEFAULT_SEED})."
        )
        parser.add_argument(
            "--password",
            help="Password for the five accounts, set on existing ones too. "
            "Without it, new accounts get a random password, printed at the end.",
        )

        parser.add_argument(
            "--allow-without-debug",
            action="store_true",
            help="Seed even though DJANGO_DEBUG is off, e.g. on a training server. Never on real data.",
        )

    def handle(self, *args, **options):
        # The command creates a superuser with a printed password: on a production
        # database that would be a back door, so it asks to be told twice.
        if not settings.DEBUG and not options["allow_without_debug"]:
            raise CommandError(
                "DJANGO_DEBUG is off, so this looks like a production database. seed_demo creates a superuser "
                "and made-up ratings; pass --allow-without-debug if this really is a demo or training database."
            )
        started = time.perf_counter()
        try:
            summary = seed_demo(seed=options["seed"], password=options["password"])
        except DemoError as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.perf_counter() - started

        if summary.created:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Created demo data (seed {options['seed']}) for {summary.states} States: "
                    f"{summary.assessments} assessments, {summary.ratings} ratings with {summary.history_rows} "
                    f"history rows, {summary.recommendations} recommendations, {summary.assistance_needs} "
                    f"technical-assistance needs, {summary.notes} CTED-only notes, {summary.submissions} submissions "
                    f"and {summary.snapshots} snapshots, in {elapsed:.1f} s."
                )
            )
        else:
            self.stdout.write(
                f"Demo data is already present ({summary.assessments} demo assessments, {summary.ratings} ratings "
                f"for {summary.states} States); nothing was added."
            )

        self.stdout.write("\nLogins (all staff accounts):")
        width = max(len(login.username) for login in summary.logins)
        role_width = max(len(login.role) for login in summary.logins)
        for login in summary.logins:
            password = f"password: {login.password}" if login.password else "existing account, password unchanged"
            self.stdout.write(f"  {login.username:<{width}}  {login.role:<{role_width}}  {password}")
        if any(login.password is None for login in summary.logins):
            self.stdout.write(
                "Existing accounts keep their password. To set a new one on all five accounts, run:\n"
                "  python manage.py seed_demo --password NEW"
            )
        self.stdout.write(
            "\nOpen http://127.0.0.1:8000/ for the dashboards, http://127.0.0.1:8000/admin/ for data entry."
        )
