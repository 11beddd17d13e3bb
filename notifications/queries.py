"""Notification reads: a user's notifications (newest first) and their unread count."""

from __future__ import annotations

from django.db.models import QuerySet

from notifications.models import Notification
from schoolpartners.types import Actor


def unread_count(user: Actor | None) -> int:
    if user is None or not user.is_authenticated:
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notifications_for(user: Actor) -> QuerySet[Notification]:
    """The user's notifications, newest first (none for an anonymous user)."""
    if not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(user=user)
