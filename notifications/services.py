"""Notification writes: send one text and link to some users, mark a user's notifications read."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from audit.services import record
from notifications.models import Notification
from schoolpartners.types import Actor, User


def notify(users: Iterable[User], text: str, url: str = "") -> int:
    """One notification per distinct user (the caller holds the transaction of the change it reports)."""
    seen = set()
    rows = []
    for u in users:
        if u.pk not in seen:
            seen.add(u.pk)
            rows.append(Notification(user=u, text=text[:500], url=url[:300]))
    Notification.objects.bulk_create(rows)
    return len(rows)


@transaction.atomic
def mark_all_read(user: Actor) -> int:
    if not user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    n = Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
    record("notifications.read", actor=user, object_type="user", object_id=user.pk, data={"count": n})
    return n
