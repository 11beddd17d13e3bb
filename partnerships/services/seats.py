"""MAT seats: at most one open MAT membership per school (`MatSeat`), opened and closed with memberships."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from partnerships.models import Kind, MatSeat, Membership, Partnership
from partnerships.services.common import ProcedureError
from schools.models import School


def open_mat_membership(school: School) -> Membership | None:
    return (
        Membership.objects.filter(school=school, left__isnull=True, partnership__kind=Kind.MAT)
        .select_related("partnership")
        .first()
    )


def open_membership(
    partnership: Partnership,
    school: School,
    joined: dt.date | None,
    reason: str = "",
    source: str = "School Partners",
) -> Membership:
    """Open a membership (caller holds a transaction). A second open MAT membership is refused by the seat."""
    if partnership.kind == Kind.MAT:
        current = open_mat_membership(school)
        if current is not None:
            raise ProcedureError(
                f"{school.name} is already in a multi-academy trust ({current.partnership.name}); "
                "that membership must be closed first."
            )
    membership = Membership.objects.create(
        partnership=partnership, school=school, joined=joined, reason=reason[:200], source=source
    )
    if partnership.kind == Kind.MAT:
        try:
            with transaction.atomic():
                MatSeat.objects.create(school=school, membership=membership)
        except IntegrityError as exc:
            raise ProcedureError(f"{school.name} is already in a multi-academy trust.") from exc
    return membership


def close_membership(membership: Membership, left: dt.date, reason: str) -> Membership:
    membership.left = left
    membership.reason = reason[:200]
    membership.save(update_fields=["left", "reason"])
    MatSeat.objects.filter(membership=membership).delete()
    return membership


@dataclass
class SeatSync:
    created: int = 0
    removed: int = 0
    conflicts: list[int] = field(
        default_factory=list
    )  # schools with two open MAT memberships (no seat given)


@transaction.atomic
def sync_mat_seats() -> SeatSync:
    """Give every open MAT membership (e.g. imported ones) its seat; drop seats of closed memberships."""
    out = SeatSync()
    out.removed, _ = MatSeat.objects.exclude(membership__left__isnull=True).delete()
    stale = MatSeat.objects.exclude(membership__partnership__kind=Kind.MAT)
    out.removed += stale.delete()[0]
    open_mat = list(
        Membership.objects.filter(left__isnull=True, partnership__kind=Kind.MAT).values_list(
            "id", "school_id"
        )
    )
    by_school: dict[int, list[int]] = defaultdict(list)
    for mid, urn in open_mat:
        by_school[urn].append(mid)
    seated = set(MatSeat.objects.values_list("school_id", flat=True))
    new = []
    for urn, mids in by_school.items():
        if len(mids) > 1:
            out.conflicts.append(urn)
        elif urn not in seated:
            new.append(MatSeat(school_id=urn, membership_id=mids[0]))
    MatSeat.objects.bulk_create(new)
    out.created = len(new)
    return out
