"""`schoolpartners partnerships`: map members to the URNs holding their results, and recompute trust aggregates.

    schoolpartners partnerships map-members [--json]
    schoolpartners partnerships recompute [--json]

Both are idempotent. `map-members` syncs MAT seats, stores partnerships.MemberMapping for every current member,
key stage and year, and prints how many members were matched directly, through one predecessor link, through a
chain, or not at all (members of the trusts in each key stage's MAT file; compare data README §6).
`recompute` runs map-members, then stores one TrustAggregate per partnership.
Each run is one transaction with one audit event (kind partnerships.map_members / partnerships.recompute) that
carries its counts, so the public data version moves on when it commits.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from audit.kinds import EventKind
from audit.services import record
from partnerships import queries, services


def _report_lines(report: list[dict[str, Any]]) -> list[str]:
    lines = [
        f"{'KS':>2} {'year':>4} {'members':>7} {'direct':>7} {'1 link':>7} {'chain':>6} {'found':>13} "
        f"{'none':>5} {'not in register':>15}"
    ]
    for r in report:
        lines.append(
            f"{r['key_stage']:>2} {r['year']:>4} {r['members']:>7} {r['direct']:>7} {r['link']:>7} {r['chain']:>6} "
            f"{r['found']:>6} ({r['found_pct'] if r['found_pct'] is not None else '-':>4}%) {r['none']:>5} "
            f"{r['not_in_register']:>15}"
        )
    return lines


class Command(BaseCommand):
    help = "Partnerships: map members to their results URNs (map-members) and recompute trust aggregates."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{map-members,recompute}")
        m = sub.add_parser(
            "map-members", help="member URN -> URN with results (direct, via links), with counts"
        )
        m.add_argument("--json", action="store_true")
        r = sub.add_parser("recompute", help="recompute and store every trust's aggregates")
        r.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        t0 = time.perf_counter()
        if opts["action"] == "map-members":
            with transaction.atomic():
                s = services.map_members()
                record(
                    EventKind.PARTNERSHIPS_MAP_MEMBERS,
                    object_type="partnerships.MemberMapping",
                    data={
                        "rows": s.rows,
                        "inserted": s.inserted,
                        "updated": s.updated,
                        "deleted": s.deleted,
                        "unchanged": s.unchanged,
                        "seats_created": s.seats.created if s.seats else 0,
                        "seats_removed": s.seats.removed if s.seats else 0,
                    },
                )
            report = queries.mapping_report()
            out: dict[str, Any] = {
                "rows": s.rows,
                "inserted": s.inserted,
                "updated": s.updated,
                "deleted": s.deleted,
                "unchanged": s.unchanged,
                "report": report,
                "seat_conflicts": s.seats.conflicts if s.seats else [],
                "seconds": round(time.perf_counter() - t0, 2),
            }
        else:
            with transaction.atomic():
                rs = services.recompute()
                record(
                    EventKind.PARTNERSHIPS_RECOMPUTE,
                    object_type="partnerships.TrustAggregate",
                    data={
                        "trusts": rs.trusts,
                        "members": rs.members,
                        "mapping": None
                        if rs.mapping is None
                        else {
                            "inserted": rs.mapping.inserted,
                            "updated": rs.mapping.updated,
                            "deleted": rs.mapping.deleted,
                        },
                        "seconds": rs.seconds,
                    },
                )
            report = queries.mapping_report()
            out = {
                "trusts": rs.trusts,
                "members": rs.members,
                "seconds": rs.seconds,
                "report": report,
                "mapping": None
                if rs.mapping is None
                else {
                    "inserted": rs.mapping.inserted,
                    "updated": rs.mapping.updated,
                    "deleted": rs.mapping.deleted,
                    "unchanged": rs.mapping.unchanged,
                },
            }
        if opts["json"]:
            self.stdout.write(json.dumps(out, indent=2, default=str))
            return
        if opts["action"] == "recompute":
            self.stdout.write(
                f"Stored aggregates for {out['trusts']} partnerships ({out['members']} memberships); {out['seconds']}"
            )
        else:
            self.stdout.write(
                f"Member mapping: {out['rows']} rows; inserted {out['inserted']}, updated {out['updated']}, "
                f"deleted {out['deleted']}, unchanged {out['unchanged']}"
            )
        for line in _report_lines(report):
            self.stdout.write(line)
