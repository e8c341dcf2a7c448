"""
Index the history rows that changed a status, for the region trend.

``RatingHistoryQuerySet.score_changes_by_quarter`` sums only rows whose status differs from
the one before (a confirmation adds nothing to either sum), about one row in twelve on the
benchmark dataset. This partial index holds exactly those rows, with the columns the trend
reads, so the query never visits the table: on 1.5 million history rows the Europe trend
went from 1.5 s to about 25 ms (docs/performance.md). SQLite has no INCLUDE, so there the
index is partial only.
"""

from django.db import migrations

POSTGRES = """
CREATE INDEX historicalrating_status_changes ON implementation_historicalrating (state_id, kind)
    INCLUDE (history_date, measure_id, status, previous_status) WHERE status <> previous_status
"""
SQLITE = """
CREATE INDEX historicalrating_status_changes ON implementation_historicalrating (state_id, kind, history_date)
    WHERE status <> previous_status
"""


def forward(apps, schema_editor):
    schema_editor.execute(POSTGRES if schema_editor.connection.vendor == "postgresql" else SQLITE, params=None)


def backward(apps, schema_editor):
    schema_editor.execute("DROP INDEX historicalrating_status_changes", params=None)


class Migration(migrations.Migration):
    dependencies = [("implementation", "0003_historicalrating_id_date_index")]

    operations = [migrations.RunPython(forward, backward)]
