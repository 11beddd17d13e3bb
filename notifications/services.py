"""Notification writes: send one text and link to some users, mark a user's notifications read, set a user's
email preference."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from audit.services import record
from notifications import email
from notifications.models import EmailState, Frequency, Notification, Preference
from schoolpartners.params import INVISIBLE
from schoolpartners.types import Actor, User

_STATE = {
    Frequency.IMMEDIATELY: EmailState.NOW,
    Frequency.DAILY: EmailState.DIGEST,
    Frequency.OFF: EmailState.NONE,
}


def frequency_of(user: Actor) -> str:
    if not getattr(user, "is_authenticated", False) or user.pk is None:
        return Frequency.IMMEDIATELY
    p = Preference.objects.filter(user_id=user.pk).values_list("frequency", flat=True).first()
    return p or Frequency.IMMEDIATELY


def notify(users: Iterable[User], text: str, url: str = "") -> int:
    """One notification per distinct user, in the caller's transaction (the change it reports).

    Users who want emails at once get one after that transaction commits (never if it rolls back); users who
    chose the daily digest get it from `schoolpartners notifications digest`; users without an email address or
    who turned emails off only see it here.
    """
    by_pk = {u.pk: u for u in users if u is not None and u.pk is not None}
    if not by_pk:
        return 0
    # one line, as the email's subject and body show it: a name stored with a line break (or U+2028, or a
    # direction override) before names were checked cannot add lines to the email or reorder it (issue 18)
    text = INVISIBLE.sub("", " ".join(text.split()))
    prefs = dict(Preference.objects.filter(user_id__in=list(by_pk)).values_list("user_id", "frequency"))
    rows = []
    for pk, u in by_pk.items():
        state = _STATE[Frequency(prefs.get(pk, Frequency.IMMEDIATELY))] if u.email else EmailState.NONE
        rows.append(Notification(user=u, text=text[:500], url=url[:300], email_state=state))
    made = Notification.objects.bulk_create(rows)
    now_ids = [n.pk for n in made if n.email_state == EmailState.NOW]  # ids: RETURNING on SQLite/PostgreSQL
    if now_ids:
        transaction.on_commit(lambda: email.send_now(now_ids))
    return len(rows)


@transaction.atomic
def mark_all_read(user: Actor) -> int:
    if not user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    n = Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
    record("notifications.read", actor=user, object_type="user", object_id=user.pk, data={"count": n})
    return n


@transaction.atomic
def set_frequency(user: Actor, frequency: str) -> Preference:
    """Set how the user's notifications are emailed. Turning emails off also drops the ones still waiting."""
    if not user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    value = Frequency(frequency)
    pref, _ = Preference.objects.update_or_create(user_id=user.pk, defaults={"frequency": value})
    waiting = Notification.objects.filter(
        user_id=user.pk, email_state__in=[EmailState.NOW, EmailState.DIGEST]
    )
    if value == Frequency.OFF:
        waiting.update(email_state=EmailState.NONE)
    elif value == Frequency.DAILY:
        waiting.update(email_state=EmailState.DIGEST)  # anything unsent now goes in the next digest
    record(
        "notifications.preference",
        actor=user,
        object_type="user",
        object_id=user.pk,
        data={"frequency": value.value},
    )
    return pref
