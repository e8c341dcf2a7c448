import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from implementation.editions import create_edition
from implementation.models import Rating
from measures.models import Edition


class Command(BaseCommand):
    help = (
        "Revise catalogue edition PREVIOUS into a new current edition NEW. Every section and measure is "
        "copied; --map OLD=NEW renames a measure and --drop OLD leaves it out. Each copied measure points "
        "to its predecessor, and its ratings are carried over with a history entry signed by --user."
    )

    def add_arguments(self, parser):
        parser.add_argument("previous", metavar="PREVIOUS", help="Code of the edition to revise, e.g. 2022-working.")
        parser.add_argument("code", metavar="NEW", help="Code of the new edition, e.g. 2025.")
        parser.add_argument("title", help="Title of the new edition.")
        parser.add_argument(
            "--map", action="append", default=[], metavar="OLD=NEW", help="Rename measure OLD to NEW. Repeatable."
        )
        parser.add_argument("--drop", action="append", default=[], metavar="OLD", help="Leave measure OLD out.")
        parser.add_argument("--published-on", type=dt.date.fromisoformat, help="Publication date, YYYY-MM-DD.")
        parser.add_argument("--user", required=True, help="Username recorded as having carried the ratings over.")

    def handle(self, *args, **options):
        previous = Edition.objects.filter(code=options["previous"]).first()
        if previous is None:
            raise CommandError(f"No edition with code {options['previous']}.")
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user {options['user']}.")
        mapping = {}
        for old_code, new_code in [_split(pair) for pair in options["map"]] + [(old, None) for old in options["drop"]]:
            if old_code in mapping:
                raise CommandError(f"Measure {old_code} is given more than one fate (--map or --drop).")
            mapping[old_code] = new_code
        try:
            edition = create_edition(
                previous=previous,
                code=options["code"],
                title=options["title"],
                mapping=mapping,
                by=user,
                published_on=options["published_on"],
            )
        except (ValueError, ValidationError) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from exc
        self.stdout.write(
            f"Edition {edition.code} is current. Measures copied from {previous.code}: {edition.measures.count()}; "
            f"ratings carried over: {Rating.objects.filter(measure__edition=edition).count()}."
        )


def _split(pair):
    old_code, sep, new_code = pair.partition("=")
    if not sep or not old_code or not new_code:
        raise CommandError(f"--map takes OLD=NEW, got {pair!r}.")
    return old_code, new_code
