"""Reach: how many open mainstream schools get a similar-schools answer (a read over the stored runs).

Open mainstream schools are the open state-funded primary and secondary schools of the 2024/25 census
(`similarity.sources.open_mainstream`). A school *has a family* when some stored run holds a row for it, or
for the school its results lineage reaches (`LineageLink`); it *has a partner* when such a row has a partner
within the run's radius. Partners are counted both ways: under each run's Ofsted condition (by default not
Requires Improvement or Inadequate) and with any judgement. Schools without one are counted by reason.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from schools.models import School
from similarity.models import LineageLink, SchoolSimilarity, SimilarityRun
from similarity.sources import OPEN_CENSUS_YEAR, open_mainstream

NO_CENSUS = "no coordinates or intake figures in the 2024/25 census"
INFANT = "infant school: no key stage 2 results (family only)"
NO_HEADLINE = "no published results, its own or a predecessor's (family only)"
TOP = "top of its family: no similar school does better"
RATED = "every better similar school is rated Requires Improvement or Inadequate"
FAR = "no better similar school within the run's radius"


def is_infant(age_high: int | None, name: str) -> bool:
    return (age_high is not None and age_high <= 8) or "infant" in name.lower()


def _row_state(r: dict[str, Any]) -> tuple[bool, bool, str]:
    """(partner under the run's rule, partner with any judgement, reason for none) of one stored row."""
    p = r["partners"] or {}
    anyr = p.get("any_rating") or p.get("default") or {}
    has = r["partner_id"] is not None and bool(r["partner_within_radius"])
    has_any = anyr.get("urn") is not None and bool(anyr.get("within_radius"))
    if has:
        return True, True, ""
    if r["headline"] is None:
        return False, False, NO_HEADLINE
    if r["top_of_family"]:
        return False, False, TOP
    return False, has_any, RATED if has_any else FAR


def reach() -> dict[str, Any]:
    open_schools = open_mainstream()
    runs = list(SimilarityRun.objects.order_by("-is_current", "-id").values_list("id", "description"))
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    for r in SchoolSimilarity.objects.values(
        "run_id", "school_id", "headline", "partner_id", "partner_within_radius", "top_of_family", "partners"
    ).iterator(chunk_size=5000):
        rows[(r["run_id"], r["school_id"])] = dict(r)
    links = {
        (run_id, u): src
        for run_id, u, src in LineageLink.objects.values_list("run_id", "school_id", "source_id")
    }
    info = {
        u: (a, n)
        for u, a, n in School.objects.filter(urn__in=list(open_schools)).values_list(
            "urn", "age_high", "name"
        )
    }
    phases: dict[str, dict[str, Any]] = {}
    for urn, phase in sorted(open_schools.items()):
        f = phases.setdefault(
            phase,
            {
                "open_schools": 0,
                "with_family": 0,
                "with_family_own_urn": 0,
                "with_family_through_lineage": 0,
                "with_partner": 0,
                "with_partner_any_rating": 0,
                "no_family": Counter(),
                "no_partner": Counter(),
                "no_partner_any_rating": Counter(),
                "by_run": {},
            },
        )
        f["open_schools"] += 1
        found: list[tuple[dict[str, Any], bool]] = []
        for rid, _ in runs:
            by_run = f["by_run"].setdefault(str(rid), {"with_family": 0, "through_lineage": 0})
            if (rid, urn) in rows:
                found.append((rows[(rid, urn)], False))
                by_run["with_family"] += 1
            elif (rid, urn) in links and (rid, links[(rid, urn)]) in rows:
                found.append((rows[(rid, links[(rid, urn)])], True))
                by_run["with_family"] += 1
                by_run["through_lineage"] += 1
        if not found:
            f["no_family"][NO_CENSUS] += 1
            continue
        f["with_family"] += 1
        f["with_family_through_lineage" if all(v for _, v in found) else "with_family_own_urn"] += 1
        states = [_row_state(r) for r, _ in found]
        if any(s[0] for s in states):
            f["with_partner"] += 1
        else:
            reason = _reason(states, phase, *info.get(urn, (None, "")))
            f["no_partner"][reason] += 1
        if any(s[1] for s in states):
            f["with_partner_any_rating"] += 1
        else:
            f["no_partner_any_rating"][_reason(states, phase, *info.get(urn, (None, "")))] += 1
    for f in phases.values():
        n = f["open_schools"] or 1
        f["family_percent"] = round(100 * f["with_family"] / n, 2)
        f["partner_percent"] = round(100 * f["with_partner"] / n, 2)
        f["partner_any_rating_percent"] = round(100 * f["with_partner_any_rating"] / n, 2)
        for k in ("no_family", "no_partner", "no_partner_any_rating"):
            f[k] = dict(f[k].most_common())
    total = sum(f["open_schools"] for f in phases.values())
    fam = sum(f["with_family"] for f in phases.values())
    return {
        "population": f"open state-funded primary and secondary schools in the {OPEN_CENSUS_YEAR - 1}/"
        f"{str(OPEN_CENSUS_YEAR)[-2:]} census",
        "runs": [{"run_id": rid, "description": d} for rid, d in runs],
        "open_schools": total,
        "with_family": fam,
        "family_percent": round(100 * fam / total, 2) if total else None,
        "phases": phases,
    }


def _reason(states: list[tuple[bool, bool, str]], phase: str, age_high: int | None, name: str) -> str:
    reasons = {s[2] for s in states}
    for r in (RATED, FAR, TOP):
        if r in reasons:
            return r
    return INFANT if phase == "primary" and is_infant(age_high, name) else NO_HEADLINE
