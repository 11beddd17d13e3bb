"""The progress record of a background job (ADR 0009). The queue itself is django-tasks' database backend
(`django_tasks_db.DBTaskResult`); a `Job` is what a person sees: state, progress, message, result."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Job(models.Model):
    kind = models.CharField(max_length=60)  # e.g. "support.import"
    title = models.CharField(max_length=200, blank=True)  # e.g. the uploaded file's name
    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True)  # unknown while streaming
    message = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    result = models.JSONField(null=True, blank=True)  # summary on success
    error = models.JSONField(null=True, blank=True)  # {"detail": ..., and any members the kind adds}
    # The input the task needs (e.g. the uploaded file), kept in the database so any worker machine can run
    # it; cleared when the job finishes.
    payload = models.BinaryField(null=True, blank=True, editable=False)
    task_id = models.CharField(max_length=64, blank=True)
    # Retries and recovery (issue 13): attempts so far, the bound, when the next attempt may start, and the
    # running attempt's heartbeat (a lease: a job running without a heartbeat for JOB_LEASE_SECONDS is stale and
    # queued again by the next worker to start, schoolpartners.jobs.reap).
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    run_after = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            models.Index(fields=["state", "heartbeat_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED)

    @property
    def retries(self) -> int:
        """Attempts after the first (0 while the first runs or when it succeeded)."""
        return max(0, self.attempts - 1)

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, round(100 * self.done / self.total))
