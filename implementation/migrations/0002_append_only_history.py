"""
Make rating history append-only, and ratings undeletable, in the database itself.

The admin and the services never update or delete these rows, but a trigger also
stops a shell session, a script or a future bug from doing it. PostgreSQL's TRUNCATE
(used by test teardown) is a separate event and is not blocked.
"""

from django.db import migrations

POSTGRES_FORWARD = """
CREATE FUNCTION tracker_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER historicalrating_append_only
    BEFORE UPDATE OR DELETE ON implementation_historicalrating
    FOR EACH ROW EXECUTE FUNCTION
        tracker_refuse_change('Rating history is append-only: rows cannot be edited or deleted.');
CREATE TRIGGER rating_no_delete
    BEFORE DELETE ON implementation_rating
    FOR EACH ROW EXECUTE FUNCTION tracker_refuse_change('Ratings cannot be deleted; set the status instead.');
"""
POSTGRES_BACKWARD = """
DROP TRIGGER rating_no_delete ON implementation_rating;
DROP TRIGGER historicalrating_append_only ON implementation_historicalrating;
DROP FUNCTION tracker_refuse_change();
"""

SQLITE_FORWARD = [
    """CREATE TRIGGER historicalrating_no_update BEFORE UPDATE ON implementation_historicalrating
       BEGIN SELECT RAISE(ABORT, 'Rating history is append-only: rows cannot be edited or deleted.'); END;""",
    """CREATE TRIGGER historicalrating_no_delete BEFORE DELETE ON implementation_historicalrating
       BEGIN SELECT RAISE(ABORT, 'Rating history is append-only: rows cannot be edited or deleted.'); END;""",
    """CREATE TRIGGER rating_no_delete BEFORE DELETE ON implementation_rating
       BEGIN SELECT RAISE(ABORT, 'Ratings cannot be deleted; set the status instead.'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER historicalrating_no_update;",
    "DROP TRIGGER historicalrating_no_delete;",
    "DROP TRIGGER rating_no_delete;",
]


def forward(apps, schema_editor):
    statements = {"postgresql": [POSTGRES_FORWARD], "sqlite": SQLITE_FORWARD}[schema_editor.connection.vendor]
    for sql in statements:
        schema_editor.execute(sql, params=None)


def backward(apps, schema_editor):
    statements = {"postgresql": [POSTGRES_BACKWARD], "sqlite": SQLITE_BACKWARD}[schema_editor.connection.vendor]
    for sql in statements:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("implementation", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
