"""The support ledger's reads: the activities a user may see, pledged vs delivered (`pledge_rows`,
`pledge_summary`, by region and trust) and the DfE 2014 academies-survey tables (`survey_report`).

Writes are in `support.services` (each one transaction with an audit event).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from accounts.models import Role
from accounts.permissions import regions_of, schools_of
from partnerships.models import Membership
from schoolpartners.regions import region_q
from schoolpartners.types import Actor
from schools.models import School
from support import reference
from support.models import ConverterPledge, Relationship, Source, SupportActivity, SupportType, SurveyResponse
from support.services import TRUST_KINDS


# ---------------------------------------------------------------------------------------------------------------
# Converter pledges
# ---------------------------------------------------------------------------------------------------------------
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


def report_beside_2014(rep: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The report's rows with the DfE July 2014 survey's published figure beside each comparable one
    (`survey_2014`, a percentage of responding academies; `survey_2014_groups`, its split by group in words)."""
    by_label = {label: code for code, label in SupportType.choices}
    to_key = {v: k for k, v in reference.LEDGER_TYPE.items()}

    def key_of(table: str, row: dict[str, Any]) -> str:
        if table == "overall":
            return "supports_others"
        if table == "newly":
            return "supports_new"
        if table == "by_type":
            return to_key.get(by_label.get(row["name"], ""), "")
        return ""

    out: dict[str, list[dict[str, Any]]] = {}
    for table, rows in rep.items():
        out[table] = []
        for row in rows:
            key = key_of(table, row)
            out[table].append(
                {
                    **row,
                    "survey_2014": reference.figure(key) if key else None,
                    "survey_2014_groups": reference.split(key) if key else "",
                }
            )
    return out


def ledger_counts() -> dict[str, int]:
    """What fills the report: recorded activities (by source), survey responses and converter pledges."""
    by_source = Counter(SupportActivity.objects.values_list("source", flat=True))
    return {
        "activities": sum(by_source.values()),
        "brokered": by_source.get(Source.BROKERAGE, 0),
        "imported": by_source.get(Source.IMPORT, 0),
        "manual": by_source.get(Source.MANUAL, 0),
        "survey_responses": SurveyResponse.objects.count(),
        "pledges": ConverterPledge.objects.count(),
    }


def activities_for(user: Actor) -> QuerySet[SupportActivity]:
    """Activities a user may see in the ledger list: staff all; a school user those given or received by
    their schools; a regional broker or approver those received or given by a school of their region."""
    qs = SupportActivity.objects.select_related("recipient").prefetch_related("providers")
    if getattr(user, "is_staff", False):
        return qs
    mine = schools_of(user)
    regions = ledger_regions(user)
    if not mine and not regions:
        raise PermissionDenied("The support ledger is for staff, school users and regional brokers.")
    q = Q(recipient_id__in=mine) | Q(providers__urn__in=mine)
    for region in regions:
        q |= region_q("recipient__region_name", region) | region_q("providers__region_name", region)
    return qs.filter(q).distinct()


def ledger_regions(user: Actor) -> list[str]:
    """The regions whose ledger a user reads as a regional broker or approver."""
    return sorted(set(regions_of(user, Role.BROKER)) | set(regions_of(user, Role.REGIONAL_APPROVER)))
