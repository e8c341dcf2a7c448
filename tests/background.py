"""Running the background tasks a test queued, as ``manage.py db_worker --batch`` would, in the test's thread."""

from unittest import mock

from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult


def run_tasks():
    """Run every queued task in the test's transaction; fail if one raised."""
    worker = db_worker.Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test",
        excluded_queue_names=[],
    )
    # The worker drops a connection left inside a transaction; a test's is, on purpose.
    with mock.patch.object(db_worker, "close_old_connections", lambda: None):
        worker.run()
    failed = DBTaskResult.objects.failed().values_list("task_path", "traceback")
    assert not failed, "\n".join(f"{path}:\n{traceback}" for path, traceback in failed)


def queued():
    """The tasks queued and not yet run, by their function's path."""
    return list(DBTaskResult.objects.ready().values_list("task_path", flat=True))
