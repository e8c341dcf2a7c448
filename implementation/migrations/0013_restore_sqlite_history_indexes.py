"""
Put back on SQLite the two indexes of rating history that migrations 0004 (the trend's status changes) and 0009 (a
State's timeline) create in SQL.

As with the triggers of migration 0012: SQLite cannot alter a column in place, so migration 0010 copied the history
table into a new one, and the indexes that the models do not declare stayed behind. A later migration that alters
that table must end the same way. PostgreSQL alters columns in place and keeps them.
"""

from django.db import migrations

INDEXES = [
    "CREATE INDEX IF NOT EXISTS historicalrating_status_changes "
    "ON implementation_historicalrating (state_id, kind, history_date) WHERE status <> previous_status",
    "CREATE INDEX IF NOT EXISTS historicalrating_state_timeline "
    "ON implementation_historicalrating (state_id, history_date DESC, history_id DESC)",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for statement in INDEXES:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("implementation", "0012_restore_sqlite_history_triggers")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
