"""`schoolpartners db_worker`: django-tasks-db's worker, which also re-queues jobs whose worker was killed.

Same options as django_tasks_db's command (this app is listed before it, so this command wins). Before the
worker loop starts, and then every JOB_LEASE_SECONDS / 2 from a thread of its own while the worker runs (not
with --batch), `schoolpartners.jobs.reap()` finds jobs still `running` whose heartbeat is older than
JOB_LEASE_SECONDS (their worker died: SIGKILL, out of memory, a lost machine), marks their task result failed
and queues them again (or fails them after max_attempts), so each completes exactly once (ADR 0009).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django_tasks_db.management.commands.db_worker import Command as WorkerCommand

from schoolpartners import jobs

log = logging.getLogger(__name__)


def reap_forever(stop: threading.Event, every: float) -> None:
    try:
        while not stop.wait(every):
            try:
                jobs.reap()
            except DatabaseError as exc:  # the database is away for a moment: try again next time
                log.warning("job reaper: %s", exc)
    finally:
        connection.close()


class Command(WorkerCommand):
    help = "Run a database background worker (re-queues jobs whose worker stopped, then runs queued tasks)"

    def handle(self, *args: Any, **options: Any) -> None:
        requeued = jobs.reap()
        if requeued and options.get("verbosity", 1):
            self.stderr.write(f"Re-queued {len(requeued)} job(s) whose worker stopped: {requeued}")
        stop = threading.Event()
        if not options.get("batch"):
            every = max(1.0, settings.JOB_LEASE_SECONDS / 2)
            threading.Thread(target=reap_forever, args=(stop, every), name="job-reaper", daemon=True).start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
