"""
Make snapshots read-only in the database: a frozen cycle is the record of what a State
stood at, so neither a snapshot nor its entries can be edited or deleted once written.
Uses the function that migration 0002 created on PostgreSQL.
"""

from django.db import migrations

MESSAGE = "Snapshots are frozen: they cannot be edited or deleted."
TABLES = ("implementation_snapshot", "implementation_snapshotentry")


def forward(apps, schema_editor):
    for table in TABLES:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                f"CREATE TRIGGER {table}_frozen BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION tracker_refuse_change('{MESSAGE}');"
            )
        else:
            for event in ("UPDATE", "DELETE"):
                schema_editor.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
                )


def backward(apps, schema_editor):
    for table in TABLES:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER {table}_frozen ON {table};")
        else:
            for event in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER {table}_no_{event};")


class Migration(migrations.Migration):
    dependencies = [("implementation", "0005_submissions_snapshots")]

    operations = [migrations.RunPython(forward, backward)]
