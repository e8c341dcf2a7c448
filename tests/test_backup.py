"""
The documented backup and restore (docs/operations.md): scripts/backup dumps the database,
scripts/restore loads the dump into an empty database, and every rating and history row
comes back, with the rules that keep history append-only.
"""

import os
import subprocess
import uuid
from contextlib import closing

import factories
import psycopg2
import pytest
from django.conf import settings
from django.db import connection

from implementation import workflow
from implementation.models import Rating

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

COMPARED = {
    "implementation_rating": "id, state_id, measure_id, kind, status, explanation, source_document, set_at",
    "implementation_historicalrating": "history_id, id, status, previous_status, history_date, history_user_id, "
    "history_change_reason",
    "implementation_submission": "id, state_id, measure_id, status, review, submitted_by_id",
    "implementation_snapshotentry": "id, snapshot_id, measure_id, kind, status",
    "auth_user": "id, username, password",
}


def url(name):
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{name}"


def run(script, *args, database):
    env = {**os.environ, "DATABASE_URL": database}
    return subprocess.run([f"scripts/{script}", *args], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True)


def rows(database, table):
    # closing(): psycopg2's own "with" ends the transaction but leaves the connection open,
    # which would keep the test database from being dropped.
    with closing(psycopg2.connect(database)) as db, db.cursor() as cursor:
        cursor.execute(f"SELECT {COMPARED[table]} FROM {table} ORDER BY 1")
        return cursor.fetchall()


@pytest.fixture
def empty_database():
    name = f"restore_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    yield url(name)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_dump_restores_into_an_empty_database_with_every_rating_and_history_row(
    ratings, analyst, focal_jam, world, tmp_path, empty_database
):
    factories.rating(state=world["jam"], measure=world["marking"], status="largely", by=analyst, reason="Desk review")
    factories.submission(state=world["jam"], measure=world["records"], by=focal_jam, status="partially")
    workflow.freeze(state=world["jam"], label="2026 review", by=analyst)
    source = url(connection.settings_dict["NAME"])
    dump = tmp_path / "tracker.dump"

    backup = run("backup", str(dump), database=source)
    assert backup.returncode == 0, backup.stderr
    restore = run("restore", str(dump), database=empty_database)
    assert restore.returncode == 0, restore.stderr

    for table in COMPARED:
        original = rows(source, table)
        assert original, table
        assert rows(empty_database, table) == original, table
    assert len(rows(empty_database, "implementation_historicalrating")) == Rating.history.count() == 5

    # The restored history is still append-only: the triggers came back with the tables.
    with closing(psycopg2.connect(empty_database)) as db, db.cursor() as cursor:
        with pytest.raises(psycopg2.errors.IntegrityConstraintViolation, match="append-only"):
            cursor.execute("UPDATE implementation_historicalrating SET status = 'implemented'")


def test_restore_refuses_a_database_that_is_not_empty(ratings, tmp_path, empty_database):
    dump = tmp_path / "tracker.dump"
    assert run("backup", str(dump), database=url(connection.settings_dict["NAME"])).returncode == 0
    assert run("restore", str(dump), database=empty_database).returncode == 0
    again = run("restore", str(dump), database=empty_database)
    assert again.returncode == 1
    assert "restore into an empty database" in again.stderr
