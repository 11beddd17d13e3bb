"""`schoolpartners brokerage derive` (needs and default offers from the register, idempotent) and
`schoolpartners brokerage summary`."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from brokerage import services
from brokerage.models import Need, Offer


class Command(BaseCommand):
    help = "Brokerage: derive data-identified needs and default offers (idempotent); summary"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["derive", "summary"])
        parser.add_argument("--json", action="store_true", help="print the counts as JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        counts: dict[str, int] = {}
        if opts["action"] == "derive":
            counts = services.derive_from_register()
        counts.update(
            {
                "open_needs": Need.objects.filter(is_open=True).count(),
                "active_offers": Offer.objects.filter(is_active=True).count(),
            }
        )
        if opts["json"]:
            self.stdout.write(json.dumps(counts))
        else:
            for k, v in counts.items():
                self.stdout.write(f"{k.replace('_', ' ')}: {v}")
