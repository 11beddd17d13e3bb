"""In-app notifications (kernel): a line of text and a link for one user, read or not.

The table is still `partnerships_notification` (the model moved here from partnerships without moving data).
Domains decide who to tell and what to say; this app only stores, counts and lists.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    text = models.CharField(max_length=500)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "partnerships_notification"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="partnership_user_id_048de9_idx")]

    def __str__(self) -> str:
        return self.text
