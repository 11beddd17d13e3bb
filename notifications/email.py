"""Notification emails: one message per notification (users who want them at once) or one daily digest.

Messages are sent after the change they report has committed (`notify()` queues `send_now` with
`transaction.on_commit`), so a write that rolls back sends nothing. Each message has a plain-text and an HTML part
in the GOV.UK Notify style: a short line, one link to the page, no images.

Exactly once: rows are claimed (state moved to SENT under a row lock) before the message goes out; a message
that fails to send puts its rows back as they were, so a later `schoolpartners notifications digest` retries
them and nothing is ever sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from notifications.models import EmailState, Notification

log = logging.getLogger(__name__)

SERVICE = "School Partners"


def absolute(url: str) -> str:
    if not url:
        return settings.SITE_URL + "/notifications/"
    if url.startswith(("http://", "https://")):
        return url
    return settings.SITE_URL + (url if url.startswith("/") else "/" + url)


def subject_for(text: str) -> str:
    line = " ".join(text.split())
    return f"{SERVICE}: {line[:90]}{'…' if len(line) > 90 else ''}"


def _claim(ids: Iterable[int], state: str) -> list[Notification]:
    """Move the given rows from `state` to SENT under a lock; only the rows this call moved are returned."""
    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update()
            .filter(pk__in=list(ids), email_state=state)
            .select_related("user")
            .order_by("created_at", "id")
        )
        Notification.objects.filter(pk__in=[n.pk for n in rows]).update(
            email_state=EmailState.SENT, emailed_at=timezone.now()
        )
    return rows


def _release(rows: list[Notification], state: str) -> None:
    Notification.objects.filter(pk__in=[n.pk for n in rows]).update(email_state=state, emailed_at=None)


def _message(
    to: str, subject: str, template: str, context: dict[str, Any], conn: Any
) -> EmailMultiAlternatives:
    ctx = {"service": SERVICE, "site_url": settings.SITE_URL, **context}
    text = render_to_string(f"notifications/email/{template}.txt", ctx)
    html = render_to_string(f"notifications/email/{template}.html", ctx)
    msg = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to], connection=conn)
    msg.attach_alternative(html, "text/html")
    return msg


def _send(rows: list[Notification], state: str, build: Any) -> int:
    if not rows:
        return 0
    try:
        with get_connection(fail_silently=False) as conn:
            build(conn).send()
    except Exception:
        log.exception("notification email to user %s failed; it will be retried", rows[0].user_id)
        _release(rows, state)
        return 0
    return 1


def send_now(ids: Iterable[int]) -> int:
    """Email each of these notifications still waiting to be sent at once; returns the messages sent."""
    sent = 0
    for n in _claim(ids, EmailState.NOW):
        if not n.user.email:
            continue

        def build(conn: Any, n: Notification = n) -> EmailMultiAlternatives:
            return _message(
                n.user.email,
                subject_for(n.text),
                "notification",
                {"user": n.user, "text": n.text, "link": absolute(n.url)},
                conn,
            )

        sent += _send([n], EmailState.NOW, build)
    return sent


def send_digests(now: Any = None) -> dict[str, int]:
    """One digest per user listing every notification waiting for the digest, oldest first; also retries
    notifications whose immediate email failed. Idempotent: claimed rows are never sent again."""
    now = now or timezone.now()
    retried = send_now(
        Notification.objects.filter(email_state=EmailState.NOW, created_at__lte=now).values_list(
            "pk", flat=True
        )
    )
    users = (
        Notification.objects.filter(email_state=EmailState.DIGEST, created_at__lte=now)
        .values_list("user_id", flat=True)
        .distinct()
    )
    digests = items = 0
    for user_id in sorted(set(users)):
        ids = Notification.objects.filter(
            user_id=user_id, email_state=EmailState.DIGEST, created_at__lte=now
        ).values_list("pk", flat=True)
        rows = _claim(ids, EmailState.DIGEST)
        user = get_user_model().objects.filter(pk=user_id).first()
        if not rows or user is None or not user.email:
            continue
        count = len(rows)

        def build(conn: Any, rows: list[Notification] = rows, user: Any = user, count: int = count) -> Any:
            return _message(
                user.email,
                f"{SERVICE}: {count} new notification{'s' if count != 1 else ''} today",
                "digest",
                {
                    "user": user,
                    "items": [{"text": n.text, "link": absolute(n.url), "at": n.created_at} for n in rows],
                    "count": count,
                    "link": absolute("/notifications/"),
                },
                conn,
            )

        if _send(rows, EmailState.DIGEST, build):
            digests += 1
            items += count
    return {"digests": digests, "notifications": items, "retried": retried}
