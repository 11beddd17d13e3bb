"""Similar schools: reads of stored results for pages and the API (nothing is computed per request).

A school page is one indexed read of its `SchoolSimilarity` row plus one read of its family members' rows.
Writes (the national recompute) are in `similarity.services`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from schools.measures import MEASURES, academic_year_label
from schools.models import School
from similarity.models import CoverageFigure, LineageLink, SchoolSimilarity, SimilarityRun

#: Feature labels for pages and exports.
FEATURE_LABELS = {
    "PNUMFSMEVER": "% FSM ever 6",
    "PNUMEAL": "% EAL",
    "PSEN": "% SEN (support + EHCP)",
    "LOG_NOR": "ln(number on roll)",
    "NOR": "Number on roll",
}


class RunNotFound(Exception):
    pass


def current_run() -> SimilarityRun | None:
    return SimilarityRun.objects.filter(is_current=True).order_by("-id").first()


def get_run(run_id: int | str | None = None) -> SimilarityRun | None:
    """The run asked for (`?run=<id>`), else the current run. Raises RunNotFound for an unknown id."""
    if run_id in (None, ""):
        return current_run()
    try:
        pk = int(run_id)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise RunNotFound(str(run_id)) from exc
    run = SimilarityRun.objects.filter(pk=pk).first()
    if run is None:
        raise RunNotFound(str(run_id))
    return run


def runs() -> QuerySet[SimilarityRun]:
    return SimilarityRun.objects.order_by("-is_current", "-created_at", "-id")


def run_info(run: SimilarityRun) -> dict[str, Any]:
    m = run.method or {}
    return {
        "run_id": run.pk,
        "method_hash": run.method_hash,
        "method_description": run.description,
        "is_current": run.is_current,
        "created_at": run.created_at,
        "year": m.get("year"),
        "family_size": m.get("family_size"),
        "radius_miles": m.get("radius_miles"),
        "robust": bool(m.get("robust")),
        "populations": run.populations,
    }


def _school_brief(s: School | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {
        "urn": s.urn,
        "name": s.name,
        "town": s.town,
        "postcode": s.postcode,
        "la_name": s.la_name,
        "latitude": s.latitude,
        "longitude": s.longitude,
        "ofsted_rating": s.ofsted_rating,
        "ofsted_date": s.ofsted_date,
        "ofsted": ofsted_words(s.ofsted_rating, s.ofsted_date),
    }


def ofsted_words(rating: str, when: date | None) -> str:
    """ "rated Good in March 2019" / "no Ofsted judgement on record"."""
    if not rating:
        return "no Ofsted judgement on record"
    return f"rated {rating}" + (f" in {when:%B %Y}" if when else "")


# ---------------------------------------------------------------------------------------------------------------
# Which run and which school's figures a page shows (results lineage)
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Resolved:
    """The run and stored row a school's similar-schools page shows, and where its figures come from."""

    run: SimilarityRun | None
    sim: SchoolSimilarity | None
    #: the row is another school's, reached through GIAS links: {"school", "path", "link_types", "year"}
    via: dict[str, Any] | None = None
    #: the row is the school's, but its results are a predecessor's (`SchoolSimilarity.source_urn`)
    results_from: dict[str, Any] | None = None
    #: why this run is shown, in words ("" when it is the current run and the school is in it)
    why: str = ""
    #: other stored runs holding this school (run_info dicts)
    others: list[dict[str, Any]] = field(default_factory=list)


def _row_for(urn: int, run: SimilarityRun) -> tuple[SchoolSimilarity | None, LineageLink | None]:
    sim = school_similarity(urn, run)
    if sim is not None:
        return sim, None
    link = LineageLink.objects.filter(run=run, school_id=urn).select_related("source").first()
    if link is None:
        return None, None
    return school_similarity(link.source_id, run), link


def headline_year(run: SimilarityRun, phase: str) -> int:
    m = run.method or {}
    return int(dict(m.get("headline_year") or []).get(phase, m.get("year", 2019)))


def resolve(urn: int, run_id: int | str | None = None) -> Resolved:
    """The row shown for `urn`: in the run asked for, else the current run, else the newest other run holding
    the school (directly or through its results lineage). Raises RunNotFound for an unknown run id."""
    if run_id not in (None, ""):
        candidates = [r for r in [get_run(run_id)] if r is not None]
    else:
        candidates = list(runs())
    chosen: tuple[SimilarityRun, SchoolSimilarity | None, LineageLink | None] | None = None
    others: list[dict[str, Any]] = []
    for r in candidates:
        sim, link = _row_for(urn, r)
        if sim is not None and chosen is None:
            chosen = (r, sim, link)
        elif sim is not None:
            others.append(run_info(r))
    if chosen is None:
        return Resolved(candidates[0] if candidates else None, None)
    run, sim, link = chosen
    assert sim is not None
    out = Resolved(run, sim, others=others)
    year = academic_year_label(headline_year(run, sim.phase))
    if link is not None:
        out.via = {
            "school": _school_brief(link.source),
            "path": link.path,
            "link_types": link.link_types,
            "year": year,
        }
    if sim.source_urn:
        src = School.objects.filter(urn=sim.source_urn).first()
        out.results_from = {
            "school": _school_brief(src) or {"urn": sim.source_urn, "name": f"URN {sim.source_urn}"},
            "path": (sim.lineage or {}).get("path", []),
            "link_types": (sim.lineage or {}).get("link_types", []),
            "year": year,
        }
    current = next((r for r in candidates if r.is_current), None)
    if run_id in (None, "") and current is not None and run.pk != current.pk:
        out.why = (
            f"This school is not in the current run ({current.description.split(':')[0]}), neither under its "
            f"own URN nor through a predecessor, so this page shows the run that covers it."
        )
    elif run_id in (None, "") and others:
        out.why = "This page shows the current run."
    heads = dict((p, tuple(c)) for p, c in (run.method or {}).get("headline") or [])
    if sim.phase == "secondary" and heads.get("secondary") == ("P8MEA",):
        out.why += (
            " It ranks schools by Progress 8, last published for 2018/19 (Progress 8 was not published for "
            "2024/25); a 2024/25 run ranks them by Attainment 8 instead."
        )
    elif sim.phase == "secondary" and heads.get("secondary") == ("ATT8SCR",):
        out.why += (
            " It ranks schools by Attainment 8 2024/25, because Progress 8 was not published for 2024/25."
        )
    out.why = out.why.strip()
    return out


def school_similarity(urn: int, run: SimilarityRun | None) -> SchoolSimilarity | None:
    if run is None:
        return None
    return SchoolSimilarity.objects.filter(run=run, school_id=urn).select_related("school", "partner").first()


def family_rows(sim: SchoolSimilarity) -> list[dict[str, Any]]:
    """The family with each member's name, phase, pupils and features (one query for the members' rows)."""
    urns = [m[0] for m in sim.members]
    members: dict[int, dict[str, Any]] = {
        r["school_id"]: dict(r)
        for r in SchoolSimilarity.objects.filter(run_id=sim.run_id, school_id__in=urns).values(
            "school_id",
            "school__name",
            "school__town",
            "school__ofsted_rating",
            "school__ofsted_date",
            "phase",
            "features",
            "pupils",
        )
    }
    out = []
    for rank, (urn, distance, miles, headline) in enumerate(sim.members, start=1):
        m = members.get(urn, {})
        feats = m.get("features") or {}
        row: dict[str, Any] = {
            "rank": rank,
            "urn": urn,
            "name": m.get("school__name", ""),
            "town": m.get("school__town", ""),
            "phase": m.get("phase", sim.phase),
            "distance": distance,
            "miles": miles,
            "headline": headline,
            "pupils": feats.get("NOR"),
            "ofsted_rating": m.get("school__ofsted_rating", ""),
            "ofsted_date": m.get("school__ofsted_date"),
        }
        for f, v in feats.items():
            if f != "NOR":
                row[f] = v
        out.append(row)
    return out


def own_row(sim: SchoolSimilarity) -> dict[str, Any]:
    """The school itself as a row shaped like `family_rows` (rank 0, distance 0), for exports beside its family."""
    school = sim.school
    feats = sim.features or {}
    row: dict[str, Any] = {
        "rank": 0,
        "urn": sim.school_id,
        "name": school.name,
        "town": school.town,
        "phase": sim.phase,
        "distance": 0.0,
        "miles": 0.0,
        "headline": sim.headline,
        "pupils": feats.get("NOR"),
        "ofsted_rating": school.ofsted_rating,
        "ofsted_date": school.ofsted_date,
    }
    row.update({f: v for f, v in feats.items() if f != "NOR"})
    return row


FLAG_LABEL = {1: "strength", -1: "weakness", 0: "none"}


def strength_rows(sim: SchoolSimilarity) -> list[dict[str, Any]]:
    out = []
    for code, s in sim.strengths.items():
        m = MEASURES.get(code)
        out.append(
            {
                "measure": code,
                "label": m.label if m else code,
                "value": s.get("value"),
                "family_mean": s.get("family_mean"),
                "family_sd": s.get("family_sd"),
                "z": s.get("z"),
                "percentile": s.get("percentile"),
                "flag": FLAG_LABEL.get(int(s.get("flag") or 0), "none"),
                "family_values": s.get("n"),
            }
        )
    return out


def _labels(codes: Sequence[str]) -> list[str]:
    return [MEASURES[c].label if c in MEASURES else c for c in codes]


def pair_rows(sim: SchoolSimilarity) -> list[dict[str, Any]]:
    urns = [p["urn"] for p in sim.challenge_pairs]
    names = dict(School.objects.filter(urn__in=urns).values_list("urn", "name"))
    return [
        {
            "urn": p["urn"],
            "name": names.get(p["urn"], ""),
            "miles": p["miles"],
            "score": p["score"],
            "gain_self": p["gain_self"],
            "gain_other": p["gain_other"],
            "we_learn": p["we_learn"],
            "they_learn": p["they_learn"],
            "we_learn_labels": _labels(p["we_learn"]),
            "they_learn_labels": _labels(p["they_learn"]),
        }
        for p in sim.challenge_pairs
    ]


def partner_info(
    sim: SchoolSimilarity, run: SimilarityRun, schools: dict[int, School] | None = None
) -> dict[str, Any]:
    """The partner shown for the run's method, with both rules' partners for reference."""
    radius = (run.method or {}).get("radius_miles", 75.0)
    rules = sim.partners or {}
    passed = (rules.get("default") or {}).get("passed_over") or {}
    if schools is None or (passed.get("urn") and passed["urn"] not in schools):
        urns = [p.get("urn") for p in rules.values() if p.get("urn")] + [passed.get("urn")]
        schools = {s.urn: s for s in School.objects.filter(urn__in=[u for u in urns if u])}

    def one(p: dict[str, Any]) -> dict[str, Any]:
        urn = p.get("urn")
        if p.get("top_of_family"):
            status = "top_of_family"
        elif not urn:
            status = "no_partner"  # no headline, or every better member excluded by its Ofsted judgement
        elif p.get("within_radius"):
            status = "within_radius"
        else:
            status = "outside_radius"
        return {
            "status": status,
            "miles": p.get("miles"),
            "within_radius": bool(p.get("within_radius")),
            "top_of_family": bool(p.get("top_of_family")),
            "school": _school_brief(schools.get(urn)) if urn else None,
        }

    chosen = "robust" if (run.method or {}).get("robust") else "default"
    excluded = (run.method or {}).get("partner_exclude_ratings") or []
    passed_over = None
    if passed.get("urn") and chosen == "default":
        ps = schools.get(passed["urn"])
        passed_over = {
            "school": _school_brief(ps),
            "miles": passed.get("miles"),
            "reason": "passed over: "
            + (ofsted_words(ps.ofsted_rating, ps.ofsted_date) if ps else "its Ofsted judgement")
            + " (partners must not be rated "
            + " or ".join(excluded)
            + ")",
        }
    return {
        "exclude_ratings": list(excluded),
        "passed_over": passed_over,
        "radius_miles": radius,
        "rule": chosen,
        "partner": one(rules.get(chosen, {})),
        "default": one(rules.get("default", {})),
        "robust": one(rules.get("robust", {})),
    }


def coverage_rows(run: SimilarityRun) -> list[dict[str, Any]]:
    qs = CoverageFigure.objects.filter(run=run).order_by("phase", "robust", "region", "radius_miles")
    return [
        dict(r)
        for r in qs.values("phase", "region", "radius_miles", "robust", "schools", "covered", "percent")
    ]


def coverage_summary(run: SimilarityRun, robust: bool = False) -> dict[str, dict[str, float | None]]:
    """{"primary": {"10": percent, ...}, "secondary": {...}} for England."""
    out: dict[str, dict[str, float | None]] = {}
    for r in CoverageFigure.objects.filter(run=run, region="", robust=robust).order_by(
        "phase", "radius_miles"
    ):
        out.setdefault(r.phase, {})[str(r.radius_miles)] = r.percent
    return out


def school_summary_context(urn: int) -> dict[str, Any]:
    """Context for the short summary on the school page (partner and top-3 family).

    Three queries when the school is in the current run (the run with the school's row id, the row, the partner
    and top-3 names); otherwise `resolve` finds the row its results lineage reaches or another run holding it.
    """
    current = (
        SimilarityRun.objects.filter(is_current=True)
        .annotate(
            sim_id=Subquery(
                SchoolSimilarity.objects.filter(run=OuterRef("pk"), school_id=urn).values("id")[:1]
            )
        )
        .order_by("-id")
        .first()
    )
    via: dict[str, Any] | None = None
    run: SimilarityRun
    if current is None or current.sim_id is None:
        # not in the current run: its results lineage, or another run holding it (one more read each)
        res = resolve(urn)
        if res.sim is None or res.run is None:
            return {"run": current, "sim": None}
        run, sim = res.run, res.sim
        via = figures_from(urn, res)
    else:
        run = current
        sim = SchoolSimilarity.objects.get(pk=current.sim_id)
    top3 = sim.members[:3]
    partner_urns = [p.get("urn") for p in (sim.partners or {}).values() if p.get("urn")]
    schools = {x.urn: x for x in School.objects.filter(urn__in=[m[0] for m in top3] + partner_urns)}
    info = partner_info(sim, run, schools)
    return {
        "run": run,
        "sim": sim,
        "partner": {**info["partner"], "exclude": info["exclude_ratings"]},
        "passed_over": info["passed_over"],
        "top3": [
            {"urn": m[0], "name": schools[m[0]].name if m[0] in schools else str(m[0]), "miles": m[2]}
            for m in top3
        ],
        "pairs": len(sim.challenge_pairs),
        "figures_from": via,
        "run_query": "" if run.is_current else f"run={run.pk}",
    }


def figures_from(urn: int, res: Resolved) -> dict[str, Any]:
    """Whose figures `res` shows for `urn`, with the same words as the page."""
    assert res.run is not None and res.sim is not None
    v = res.via or res.results_from
    if v is not None:
        school = v["school"] or {}
        what = "figures" if res.via else "headline and measures"
        return {
            "urn": school.get("urn"),
            "name": school.get("name", ""),
            "year": v["year"],
            "path": list(v["path"]),
            "link_types": list(v["link_types"]),
            "words": f"The {what} are those of {school.get('name', '')} (URN {school.get('urn')}), {v['year']}, "
            f"which URN {urn} took over from (GIAS link: {', '.join(v['link_types'])}).",
        }
    year = academic_year_label(headline_year(res.run, res.sim.phase))
    name = res.sim.school.name
    if res.sim.headline is None:
        census = academic_year_label(int((res.run.method or {}).get("year", 2019)))
        return {
            "urn": urn,
            "name": name,
            "year": census,
            "path": [urn],
            "link_types": [],
            "words": f"The family comes from {name}'s own {census} census intake (URN {urn}); no headline "
            "results are published for it or a school it took over from.",
        }
    return {
        "urn": urn,
        "name": name,
        "year": year,
        "path": [urn],
        "link_types": [],
        "words": f"The figures are {name}'s own (URN {urn}), {year}.",
    }
