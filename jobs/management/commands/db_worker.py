"""`schoolpartners db_worker`: django-tasks-db's worker, which first re-queues jobs whose worker was killed.

Same options as django_tasks_db's command (this app is listed before it, so this command wins). Before the
worker loop starts, `schoolpartners.jobs.reap()` finds jobs still `running` whose heartbeat is older than
JOB_LEASE_SECONDS (their worker died: SIGKILL, out of memory, a lost machine), marks their task result failed
and queues them again (or fails them after max_attempts), so each completes exactly once (ADR 0009).
"""

from __future__ import annotations

from typing import Any

from django_tasks_db.management.commands.db_worker import Command as WorkerCommand

from schoolpartners import jobs


class Command(WorkerCommand):
    help = "Run a database background worker (re-queues jobs whose worker stopped, then runs queued tasks)"

    def handle(self, *args: Any, **options: Any) -> None:
        requeued = jobs.reap()
        if requeued and options.get("verbosity", 1):
            self.stderr.write(f"Re-queued {len(requeued)} job(s) whose worker stopped: {requeued}")
        super().handle(*args, **options)
