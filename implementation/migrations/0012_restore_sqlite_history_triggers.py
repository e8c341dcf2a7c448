"""
Put back on SQLite the triggers of migration 0002 that keep rating history append-only.

SQLite cannot alter a column in place: Django copies the table into a new one, and the triggers of the old table go
with it. Migration 0010 changed columns of both tables, so on SQLite it dropped them. A later migration that alters
either table must end the same way. PostgreSQL alters columns in place and keeps its triggers.
"""

from django.db import migrations

APPEND_ONLY = "Rating history is append-only: rows cannot be edited or deleted."
UNDELETABLE = "Ratings cannot be deleted; set the status instead."
# name: (event, table, message)
TRIGGERS = {
    "historicalrating_no_update": ("UPDATE", "implementation_historicalrating", APPEND_ONLY),
    "historicalrating_no_delete": ("DELETE", "implementation_historicalrating", APPEND_ONLY),
    "rating_no_delete": ("DELETE", "implementation_rating", UNDELETABLE),
}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for name, (event, table, message) in TRIGGERS.items():
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name};", params=None)
        schema_editor.execute(
            f"CREATE TRIGGER {name} BEFORE {event} ON {table} BEGIN SELECT RAISE(ABORT, '{message}'); END;",
            params=None,
        )


class Migration(migrations.Migration):
    dependencies = [("implementation", "0011_staged_upload_lifecycle")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
