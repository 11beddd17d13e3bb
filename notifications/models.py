"""In-app notifications (kernel): a line of text and a link for one user, read or not, and how it is emailed.

The table is still `partnerships_notification` (the model moved here from partnerships without moving data).
Domains decide who to tell and what to say; this app stores, counts, lists and emails them (`notifications.email`)
as each user prefers (`Preference`: at once, in a daily digest, or never).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Frequency(models.TextChoices):
    IMMEDIATELY = "immediately", "Immediately: one email for each notification"
    DAILY = "daily", "Daily digest: one email a day listing them"
    OFF = "off", "Off: no emails (notifications still appear on this site)"


class EmailState(models.TextChoices):
    """Where a notification's email stands. The state is fixed from the user's preference when it is made."""

    NOW = "now", "To send now"
    DIGEST = "digest", "To send in the daily digest"
    SENT = "sent", "Sent"
    NONE = "none", "Not emailed"


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    text = models.CharField(max_length=500)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    email_state = models.CharField(max_length=10, choices=EmailState.choices, default=EmailState.NONE)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "partnerships_notification"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "read_at"], name="partnership_user_id_048de9_idx"),
            models.Index(fields=["email_state", "user"], name="notif_email_state_idx"),
        ]

    def __str__(self) -> str:
        return self.text


class Preference(models.Model):
    """How one user wants their notifications emailed (no row: immediately)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    frequency = models.CharField(max_length=12, choices=Frequency.choices, default=Frequency.IMMEDIATELY)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.frequency}"
