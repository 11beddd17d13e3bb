"""`schoolpartners notifications digest`: email each user who chose the daily digest the notifications waiting
for it (one message per user), and retry immediate emails that failed. Safe to run again: a notification is
never emailed twice. Run it once a day (cron, systemd timer)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from notifications.email import send_digests


class Command(BaseCommand):
    help = "Notification emails: `digest` sends the daily digests (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["digest"])

    def handle(self, *args: Any, **options: Any) -> None:
        out = send_digests()
        self.stdout.write(
            f"Sent {out['digests']} digest(s) with {out['notifications']} notification(s); "
            f"retried {out['retried']} immediate email(s)."
        )
