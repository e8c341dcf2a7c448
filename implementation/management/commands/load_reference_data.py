from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.loading import ReferenceDataError
from measures.services import load_catalogue
from states.services import load_member_states, load_regions


class Command(BaseCommand):
    help = (
        "Load the reference data: the 193 Member States (states/data/member_states.csv), the workshop "
        "regions with their members and workshops (states/data/regions.json) and the shipped catalogue "
        "edition with its instruments (measures/data/catalogue.json). The files are the source of truth "
        "for what they list: a value edited in the admin is put back to the file's value on the next load; "
        "rows the files do not mention are left alone. Safe to re-run: only differing values are written. "
        "A malformed file stops the load with nothing written."
    )

    def handle(self, *args, **options):
        try:
            with transaction.atomic():
                summary = load_member_states() + load_regions() + load_catalogue()
        except ReferenceDataError as exc:
            raise CommandError(str(exc)) from exc
        items = summary.items
        self.stdout.write(
            f"Reference data: {items['Member States']} Member States, {items['regions']} regions, "
            f"{items['workshops']} workshops, {items['editions']} edition with {items['measures']} measures "
            f"({summary.created} created, {summary.updated} updated)."
        )
