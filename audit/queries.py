"""Audit reads: which events a user may read, filtered (kind, dates, actor, school, trust), for the audit log page
and its exports.

Scope: staff read every event; a regional approver the events of their region (the `region` the event records,
a region or any of its sub-regions); a trust administrator the events of their trust (`partnership`) and of the
schools now in it (`school`). Anyone else reads none (`scope_of` answers None and the page refuses with 403).
Events recorded before an event carried its region or trust are visible to staff only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.apps import apps
from django.db.models import Q, QuerySet

from accounts.models import Role
from accounts.permissions import regions_of, trusts_of
from audit.kinds import LABELS, EventKind
from audit.models import AuditEvent
from schoolpartners.regions import region_q
from schoolpartners.types import Actor


@dataclass(frozen=True)
class AuditFilters:
    kind: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    actor: str = ""
    school: int | None = None
    trust: int | None = None


def _member_schools(trusts: list[int]) -> list[int]:
    # partnerships is a higher layer: its model is looked up by name, never imported.
    membership = apps.get_model("partnerships", "Membership")
    return list(
        membership.objects.filter(partnership_id__in=trusts, left__isnull=True).values_list(
            "school_id", flat=True
        )
    )


def scope_of(user: Actor | None) -> Q | None:
    """The events `user` may read as a filter (an empty Q: all), or None when they may read none."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_staff:
        return Q()
    q: Q | None = None
    for region in regions_of(user, Role.REGIONAL_APPROVER):
        q = region_q("data__region", region) if q is None else q | region_q("data__region", region)
    trusts = trusts_of(user)
    if trusts:
        tq = Q(data__partnership__in=trusts)
        schools = _member_schools(trusts)
        if schools:
            tq |= Q(data__school__in=schools)
        q = tq if q is None else q | tq
    return q


def can_read_audit(user: Actor | None) -> bool:
    return scope_of(user) is not None


def events_for(user: Actor | None, f: AuditFilters) -> QuerySet[AuditEvent]:
    """Events the user may read that match the filters, newest first (none when the user may read none)."""
    scope = scope_of(user)
    if scope is None:
        return AuditEvent.objects.none()
    qs = AuditEvent.objects.filter(scope)
    if f.kind:
        qs = qs.filter(action=f.kind)
    if f.date_from:
        qs = qs.filter(at__date__gte=f.date_from)
    if f.date_to:
        qs = qs.filter(at__date__lte=f.date_to)
    if f.actor:
        qs = qs.filter(actor_username__icontains=f.actor)
    if f.school is not None:
        qs = qs.filter(data__school=f.school)
    if f.trust is not None:
        qs = qs.filter(data__partnership=f.trust)
    return qs.order_by("-at", "-id")


def kind_choices() -> list[tuple[str, str]]:
    """Every kind with its words, sorted by the words (the same words may name several request kinds)."""
    return sorted(((k.value, f"{LABELS[k]} ({k.value})") for k in EventKind), key=lambda c: c[1].lower())
