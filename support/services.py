"""The support ledger's writes.

Writes (each one transaction with an audit event):
- `record_activity(data, actor)`: staff, or a school user for an activity *their* school provides.
- `record_brokered_deployment(deployment, actor=None)`: the brokerage service's entry point (see docs/support.md).
- `record_pledge(...)`: staff, or a school user of the pledging academy.
- `import_file(path, actor)` lives in `support.importer` (bulk CSV/XLSX, all-or-nothing, idempotent).

Reads (`activities_for`, `pledge_rows` / `pledge_summary`, `survey_report`) are in `support.queries`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q

from accounts.permissions import can_act_for_school, require
from audit.kinds import EventKind
from audit.services import record
from partnerships.models import Kind, Membership
from schoolpartners.types import Actor, User
from schools.models import School
from support.models import ConverterPledge, Relationship, Source, SupportActivity, SupportType

TRUST_KINDS = (Kind.MAT, Kind.SAT)


class SupportError(ValueError):
    """Invalid support data; the message names the field and the value."""


def provider_key(provider_urns: Iterable[int], system_leader: str = "") -> str:
    """The natural key part naming who gave the support: sorted provider URNs joined by '+', '|', leader name."""
    urns = "+".join(str(u) for u in sorted({int(u) for u in provider_urns}))
    return f"{urns}|{(system_leader or '').strip().lower()}"


def trusts_at(urns: Iterable[int], on: dt.date) -> dict[int, set[int]]:
    """URN -> ids of the trusts (MAT/SAT) it belonged to on date `on`, from dated memberships (a membership
    without a joined date counts from the start; without a left date, to today)."""
    out: dict[int, set[int]] = defaultdict(set)
    rows = (
        Membership.objects.filter(school_id__in=list(urns), partnership__kind__in=TRUST_KINDS)
        .filter(Q(joined__isnull=True) | Q(joined__lte=on))
        .filter(Q(left__isnull=True) | Q(left__gt=on))
    )
    for urn, pid in rows.values_list("school_id", "partnership_id"):
        out[urn].add(pid)
    return out


def relationship_for(provider_urns: Sequence[int], recipient_urn: int, on: dt.date) -> str:
    """same_trust when a provider shares a trust with the recipient on the start date; standalone when the
    recipient is in no trust; different_trust otherwise; unknown without a provider school."""
    if not provider_urns:
        return Relationship.UNKNOWN
    trusts = trusts_at([*provider_urns, recipient_urn], on)
    mine = trusts.get(recipient_urn, set())
    if not mine:
        return Relationship.STANDALONE
    if any(mine & trusts.get(p, set()) for p in provider_urns):
        return Relationship.SAME_TRUST
    return Relationship.DIFFERENT_TRUST


@dataclass
class ActivityData:
    recipient_urn: int
    support_type: str
    start_date: dt.date
    provider_urns: list[int] = field(default_factory=list)
    system_leader: str = ""
    end_date: dt.date | None = None
    days: Decimal | float | None = None
    outcome: str = ""
    source: str = Source.MANUAL
    external_ref: str = ""


def validate_activity(data: ActivityData) -> None:
    if data.support_type not in SupportType.values:
        raise SupportError(
            f"support_type {data.support_type!r} is not one of {', '.join(SupportType.values)}"
        )
    if not data.provider_urns and not data.system_leader.strip():
        raise SupportError("give a provider school URN or a system leader's name")
    if data.recipient_urn in data.provider_urns:
        raise SupportError(f"recipient_urn {data.recipient_urn} is also a provider")
    if data.end_date and data.end_date < data.start_date:
        raise SupportError(f"end_date {data.end_date} is before start_date {data.start_date}")
    if data.days is not None and Decimal(str(data.days)) < 0:
        raise SupportError(f"days {data.days} is negative")
    known = set(
        School.objects.filter(urn__in=[data.recipient_urn, *data.provider_urns]).values_list("urn", flat=True)
    )
    for u in [data.recipient_urn, *data.provider_urns]:
        if u not in known:
            raise SupportError(f"URN {u} is not a known school")


def can_record_activity(user: Actor | None, provider_urns: Sequence[int]) -> bool:
    """Staff always; a school user only when EVERY provider school is one they act for.

    Naming another school as co-provider would put words in its mouth (and mark its pledge delivered), so a
    single provider that is not the user's refuses the whole activity. No provider at all (a system leader
    only) is staff's to record.
    """
    if user is not None and getattr(user, "is_active", False) and getattr(user, "is_staff", False):
        return True
    return bool(provider_urns) and all(can_act_for_school(user, u) for u in provider_urns)


def _signed_in_user(actor: Actor | None) -> User | None:
    """The actor to store as `created_by`: a signed-in user, else None."""
    return actor if isinstance(actor, User) and actor.is_authenticated else None


def _save_activity(data: ActivityData, actor: Actor | None) -> tuple[SupportActivity, str]:
    """Insert or update by natural key (inside a transaction). Returns (activity, inserted|updated|unchanged)."""
    key = provider_key(data.provider_urns, data.system_leader)
    days = Decimal(str(data.days)).quantize(Decimal("0.1")) if data.days is not None else None
    values = {
        "system_leader": data.system_leader.strip(),
        "end_date": data.end_date,
        "days": days,
        "outcome": data.outcome,
        "source": data.source,
        "external_ref": data.external_ref,
        "relationship": relationship_for(data.provider_urns, data.recipient_urn, data.start_date),
    }
    existing = SupportActivity.objects.filter(
        recipient_id=data.recipient_urn,
        support_type=data.support_type,
        start_date=data.start_date,
        provider_key=key,
    ).first()
    if existing is None:
        act = SupportActivity.objects.create(
            recipient_id=data.recipient_urn,
            support_type=data.support_type,
            start_date=data.start_date,
            provider_key=key,
            created_by=_signed_in_user(actor),
            **values,
        )
        act.providers.set(data.provider_urns)
        return act, "inserted"
    changed = {k: v for k, v in values.items() if getattr(existing, k) != v}
    if not changed:
        return existing, "unchanged"
    for k, v in changed.items():
        setattr(existing, k, v)
    existing.save(update_fields=list(changed))
    return existing, "updated"


def record_activity(data: ActivityData, actor: Actor | None) -> SupportActivity:
    """Record one support activity (staff, or a user of a provider school). Duplicates are refused."""
    require(
        can_record_activity(actor, data.provider_urns),
        "You may record support only as staff or for a school you act for: every provider must be yours.",
    )
    validate_activity(data)
    with transaction.atomic():
        act, status = _save_activity(data, actor)
        if status != "inserted":
            raise SupportError(
                "this activity is already recorded (same recipient, type, start date and provider)"
            )
        record(
            EventKind.SUPPORT_ACTIVITY_RECORDED,
            actor=actor,
            object_type="support.SupportActivity",
            object_id=act.pk,
            data={
                "recipient": data.recipient_urn,
                "providers": data.provider_urns,
                "type": data.support_type,
                "start": data.start_date.isoformat(),
            },
        )
    return act


def _attr(obj: Any, *names: str, default: Any = None) -> Any:
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    return default


def record_brokered_deployment(deployment: Any, actor: Actor | None = None) -> SupportActivity:
    """Land one brokered deployment in the ledger (called by the brokerage service; idempotent).

    `deployment` is any object (or dict) with these attributes:
    - `provider_urns` (list of int) or `provider_urn` (int or None): the supporting school(s);
    - `system_leader_name` (str, optional): the NLE/LLE/SLE deployed (a provider or a leader is required);
    - `recipient_urn` (int); `support_type` (a `support.models.SupportType` code, default "system_leader");
    - `start_date` (date); `end_date` (date or None); `days` (number or None);
    - `id` or `pk` (optional): stored as external_ref "brokerage:<id>"; `outcome` (optional str).
    Re-sending the same deployment updates the stored activity instead of duplicating it. The brokerage
    service has checked the broker's permission; this function records `actor` in the audit event.
    """
    providers = _attr(deployment, "provider_urns", default=None)
    if providers is None:
        one = _attr(deployment, "provider_urn", "provider_school_urn", default=None)
        providers = [one] if one else []
    ref = _attr(deployment, "id", "pk", default=None)
    stype = str(_attr(deployment, "support_type", default=SupportType.SYSTEM_LEADER) or SupportType.OTHER)
    data = ActivityData(
        recipient_urn=int(_attr(deployment, "recipient_urn", "recipient_school_urn")),
        # a brokerage type the ledger does not know is kept as "other" rather than failing the deployment
        support_type=stype if stype in SupportType.values else SupportType.OTHER,
        start_date=_attr(deployment, "start_date"),
        provider_urns=[int(u) for u in providers],
        system_leader=str(_attr(deployment, "system_leader_name", "system_leader", default="") or ""),
        end_date=_attr(deployment, "end_date", default=None),
        days=_attr(deployment, "days", default=None),
        outcome=str(_attr(deployment, "outcome", default="") or ""),
        source=Source.BROKERAGE,
        external_ref=f"brokerage:{ref}" if ref is not None else "",
    )
    validate_activity(data)
    with transaction.atomic():
        # the same deployment sent again after its dates, type or supporter changed: move the stored activity
        prior = (
            SupportActivity.objects.select_for_update().filter(external_ref=data.external_ref).first()
            if data.external_ref
            else None
        )
        key = provider_key(data.provider_urns, data.system_leader)
        if prior is not None and (
            prior.recipient_id,
            prior.support_type,
            prior.start_date,
            prior.provider_key,
        ) != (data.recipient_urn, data.support_type, data.start_date, key):
            prior.recipient_id, prior.support_type, prior.start_date, prior.provider_key = (
                data.recipient_urn,
                data.support_type,
                data.start_date,
                key,
            )
            prior.save(update_fields=["recipient", "support_type", "start_date", "provider_key"])
            prior.providers.set(data.provider_urns)
        act, status = _save_activity(data, actor)
        record(
            EventKind.SUPPORT_BROKERED_DEPLOYMENT,
            actor=actor,
            object_type="support.SupportActivity",
            object_id=act.pk,
            data={"status": status, "external_ref": data.external_ref},
        )
    return act


# ---------------------------------------------------------------------------------------------------------------
# Converter pledges
# ---------------------------------------------------------------------------------------------------------------
def record_pledge(
    academy_urn: int, supported_urn: int, pledge_date: dt.date, actor: Actor | None, note: str = ""
) -> ConverterPledge:
    """An academy's pledge to support a named school (staff, or a user of the pledging academy)."""
    staff = actor is not None and getattr(actor, "is_staff", False) and getattr(actor, "is_active", False)
    require(
        staff or can_act_for_school(actor, academy_urn),
        "You may record a pledge only as staff or for your own academy.",
    )
    if academy_urn == supported_urn:
        raise SupportError("an academy cannot pledge to support itself")
    known = set(School.objects.filter(urn__in=[academy_urn, supported_urn]).values_list("urn", flat=True))
    for u in (academy_urn, supported_urn):
        if u not in known:
            raise SupportError(f"URN {u} is not a known school")
    with transaction.atomic():
        pledge, created = ConverterPledge.objects.get_or_create(
            academy_id=academy_urn,
            supported_id=supported_urn,
            pledge_date=pledge_date,
            defaults={
                "note": note,
                "created_by": _signed_in_user(actor),
            },
        )
        if not created:
            raise SupportError("this pledge is already recorded")
        record(
            EventKind.SUPPORT_PLEDGE_RECORDED,
            actor=actor,
            object_type="support.ConverterPledge",
            object_id=pledge.pk,
            data={"academy": academy_urn, "supported": supported_urn, "date": pledge_date.isoformat()},
        )
    return pledge
