"""The support ledger's writes and reads.

Writes (each one transaction with an audit event):
- `record_activity(data, actor)`: staff, or a school user for an activity *their* school provides.
- `record_brokered_deployment(deployment, actor=None)`: the brokerage service's entry point (see docs/support.md).
- `record_pledge(...)`: staff, or a school user of the pledging academy.
- `import_file(path, actor)` lives in `support.importer` (bulk CSV/XLSX, all-or-nothing, idempotent).

Reads: `pledge_rows` / `pledge_summary` (pledged vs delivered by region and trust) and `survey_report`
(the DfE 2014 academies-survey tables).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q

from accounts.permissions import can_act_for_school, require
from audit.kinds import EventKind
from audit.services import record
from partnerships.models import Kind, Membership
from schools.models import School
from support.models import ConverterPledge, Relationship, Source, SupportActivity, SupportType, SurveyResponse

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


def can_record_activity(user: Any, provider_urns: Sequence[int]) -> bool:
    """Staff always; a school user only for an activity one of their schools provides."""
    if user is not None and getattr(user, "is_active", False) and getattr(user, "is_staff", False):
        return True
    return any(can_act_for_school(user, u) for u in provider_urns)


def _save_activity(data: ActivityData, actor: Any) -> tuple[SupportActivity, str]:
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
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
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


def record_activity(data: ActivityData, actor: Any) -> SupportActivity:
    """Record one support activity (staff, or a user of a provider school). Duplicates are refused."""
    require(
        can_record_activity(actor, data.provider_urns),
        "You may record support only as staff or for a school you act for that provides it.",
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


def record_brokered_deployment(deployment: Any, actor: Any = None) -> SupportActivity:
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
    academy_urn: int, supported_urn: int, pledge_date: dt.date, actor: Any, note: str = ""
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
                "created_by": actor if getattr(actor, "is_authenticated", False) else None,
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


def pledge_rows() -> list[dict[str, Any]]:
    """Every pledge with `delivered`: an activity provided by the academy to the named school starting on or
    after the pledge date exists (first such activity's date given)."""
    pledges = list(ConverterPledge.objects.select_related("academy", "supported"))
    given: dict[tuple[int, int], list[dt.date]] = defaultdict(list)
    for p_urn, recip, start in SupportActivity.providers.through.objects.values_list(
        "school_id", "supportactivity__recipient_id", "supportactivity__start_date"
    ):
        given[(p_urn, recip)].append(start)
    trust = {
        u: n
        for u, n in Membership.objects.filter(
            left__isnull=True, partnership__kind__in=TRUST_KINDS
        ).values_list("school_id", "partnership__name")
    }
    out = []
    for p in pledges:
        dates = sorted(d for d in given.get((p.academy_id, p.supported_id), []) if d >= p.pledge_date)
        out.append(
            {
                "academy_urn": p.academy_id,
                "academy": p.academy.name,
                "supported_urn": p.supported_id,
                "supported": p.supported.name,
                "pledge_date": p.pledge_date,
                "region": p.academy.region_name or "Unknown",
                "trust": trust.get(p.academy_id, "No trust"),
                "delivered": bool(dates),
                "first_delivery": dates[0] if dates else None,
                "note": p.note,
            }
        )
    return out


def pledge_summary(rows: Sequence[dict[str, Any]], by: str) -> list[dict[str, Any]]:
    """Pledged vs delivered grouped by `by` ("region" or "trust"), plus an England row first."""
    groups: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        groups[r[by]].append(r["delivered"])

    def row(name: str, d: list[bool]) -> dict[str, Any]:
        return {
            "name": name,
            "pledged": len(d),
            "delivered": sum(d),
            "percent": round(100 * sum(d) / len(d), 1) if d else None,
        }

    return [row("England", [r["delivered"] for r in rows])] + [row(k, v) for k, v in sorted(groups.items())]


# ---------------------------------------------------------------------------------------------------------------
# Survey-style report (DfE 2014 academies survey)
# ---------------------------------------------------------------------------------------------------------------
def _route(establishment_type: str) -> str:
    t = (establishment_type or "").lower()
    if "converter" in t:
        return "Converter"
    if "sponsor" in t:
        return "Sponsored"
    return "Other academy" if "academy" in t or "free school" in t else "Not an academy"


def survey_report() -> dict[str, list[dict[str, Any]]]:
    """The tables of the 2014 academies survey, from survey responses and the ledger.

    An academy *supports other schools* when it answered yes in the survey or provides a recorded activity.
    Base: academies that answered the survey or appear as providers in the ledger.
    """
    responses = list(
        SurveyResponse.objects.values_list(
            "school_id", "supports_others", "support_types", "supported_before_conversion"
        )
    )
    providers: dict[int, set[str]] = defaultdict(set)
    rel_count: Counter[str] = Counter()
    for rel in SupportActivity.objects.values_list("relationship", flat=True):
        rel_count[rel] += 1
    for p, stype in SupportActivity.providers.through.objects.values_list(
        "school_id", "supportactivity__support_type"
    ):
        providers[p].add(stype)
    base = {u for u, *_ in responses} | set(providers)
    schools = {
        s.urn: s for s in School.objects.filter(urn__in=base).only("urn", "phase", "establishment_type")
    }
    supports: dict[int, set[str]] = defaultdict(set)
    for u, yes, types, _ in responses:
        if yes:
            supports[u] |= set(types or []) | {"_any"}
    for u, types in providers.items():
        supports[u] |= types | {"_any"}
    academies = [
        u for u in base if u in schools and _route(schools[u].establishment_type) != "Not an academy"
    ]
    n = len(academies)
    sup = [u for u in academies if supports.get(u)]

    def pct(a: int, b: int) -> float | None:
        return round(100 * a / b, 1) if b else None

    overall = [
        {
            "name": "Academies supporting other schools",
            "count": len(sup),
            "base": n,
            "percent": pct(len(sup), n),
        }
    ]
    by_type = [
        {
            "name": label,
            "count": sum(1 for u in sup if code in supports[u]),
            "base": len(sup),
            "percent": pct(sum(1 for u in sup if code in supports[u]), len(sup)),
        }
        for code, label in SupportType.choices
    ]

    def split(key: Any) -> list[dict[str, Any]]:
        groups: dict[str, list[int]] = defaultdict(list)
        for u in academies:
            groups[key(schools[u])].append(u)
        return [
            {
                "name": k,
                "count": sum(1 for u in v if supports.get(u)),
                "base": len(v),
                "percent": pct(sum(1 for u in v if supports.get(u)), len(v)),
            }
            for k, v in sorted(groups.items())
        ]

    by_phase = split(lambda s: (s.get_phase_display() if s.phase else "Unknown"))
    by_route = split(lambda s: _route(s.establishment_type))
    total_rel = sum(rel_count.values())
    by_relationship = [
        {
            "name": label,
            "count": rel_count.get(code, 0),
            "base": total_rel,
            "percent": pct(rel_count.get(code, 0), total_rel),
        }
        for code, label in Relationship.choices
    ]
    new_support = [(u, before) for u, yes, _, before in responses if yes and before is not None]
    not_before = sum(1 for _, before in new_support if not before)
    newly = [
        {
            "name": "Supporting academies that did not support other schools before converting",
            "count": not_before,
            "base": len(new_support),
            "percent": pct(not_before, len(new_support)),
        }
    ]
    return {
        "overall": overall,
        "by_type": by_type,
        "by_phase": by_phase,
        "by_route": by_route,
        "by_relationship": by_relationship,
        "newly": newly,
    }


def activities_for(user: Any) -> Any:
    """Activities a user may see in the ledger list: staff all; a school user those given or received by
    their schools."""
    from accounts.permissions import schools_of

    qs = SupportActivity.objects.select_related("recipient").prefetch_related("providers")
    if getattr(user, "is_staff", False):
        return qs
    mine = schools_of(user)
    if not mine:
        raise PermissionDenied("The support ledger is for staff and school users.")
    return qs.filter(Q(recipient_id__in=mine) | Q(providers__urn__in=mine)).distinct()
