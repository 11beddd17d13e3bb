"""Public, read-only JSON API over the stored similar-schools results (mounted at /api/ in schoolpartners/api.py).

Paths: /api/schools/{urn}/family, /partner, /challenge-pairs, /strengths; /api/similarity/coverage and
/api/similarity/runs. Every answer names the run it comes from (id, method description and hash); `run=<id>`
picks a stored run other than the current one. Nothing is computed per request. A missing run or result
raises `NotFound` (a 404 problem body, schoolpartners/apikit.py).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema

from schoolpartners.access import PUBLIC_READ
from schoolpartners.apikit import operation
from schoolpartners.errors import NotFound
from schoolpartners.params import Id, OptionalId
from similarity import queries
from similarity.models import SchoolSimilarity, SimilarityRun

router = Router(tags=["similar schools"])


class SimilarityRunOut(Schema):
    run_id: int
    method_hash: str
    method_description: str
    is_current: bool
    created_at: datetime
    year: int | None = None
    family_size: int | None = None
    radius_miles: float | None = None
    robust: bool
    populations: dict[str, int]


class FamilyMemberOut(Schema):
    rank: int
    urn: int
    name: str
    phase: str
    distance: float | None
    miles: float | None
    headline: float | None
    pupils: int | None
    features: dict[str, float | None]
    ofsted_rating: str = ""
    ofsted_date: date | None = None


class FiguresFromOut(Schema):
    """Whose figures an answer gives: the school itself, or the school its results lineage reaches."""

    urn: int
    name: str
    year: str
    path: list[int]
    link_types: list[str]
    words: str


class FamilyOut(Schema):
    run: SimilarityRunOut
    urn: int
    figures_from: FiguresFromOut
    phase: str
    headline: float | None
    features: dict[str, float | None]
    family: list[FamilyMemberOut]


class SchoolBrief(Schema):
    urn: int
    name: str
    town: str = ""
    postcode: str = ""
    la_name: str = ""
    latitude: float | None = None
    longitude: float | None = None
    ofsted_rating: str = ""
    ofsted_date: date | None = None
    ofsted: str = ""


class PartnerRuleOut(Schema):
    status: Literal["within_radius", "outside_radius", "top_of_family", "no_partner"]
    miles: float | None
    within_radius: bool
    top_of_family: bool
    school: SchoolBrief | None


class PassedOverOut(Schema):
    school: SchoolBrief | None
    miles: float | None
    reason: str


class PartnerOut(Schema):
    run: SimilarityRunOut
    urn: int
    figures_from: FiguresFromOut
    exclude_ratings: list[str]
    passed_over: PassedOverOut | None
    radius_miles: float
    rule: Literal["default", "robust"]
    partner: PartnerRuleOut
    default: PartnerRuleOut
    robust: PartnerRuleOut


class StrengthOut(Schema):
    measure: str
    label: str
    value: float | None
    family_mean: float | None
    family_sd: float | None
    z: float | None
    percentile: float | None
    flag: Literal["strength", "weakness", "none"]
    family_values: int | None


class StrengthsOut(Schema):
    run: SimilarityRunOut
    urn: int
    figures_from: FiguresFromOut
    strengths: list[StrengthOut]


class PairOut(Schema):
    urn: int
    name: str
    miles: float
    score: float
    gain_self: float
    gain_other: float
    we_learn: list[str]
    they_learn: list[str]


class PairsOut(Schema):
    run: SimilarityRunOut
    urn: int
    pairs: list[PairOut]


class CoverageFigureOut(Schema):
    phase: str
    region: str
    radius_miles: int
    robust: bool
    schools: int
    covered: int
    percent: float | None


class CoverageOut(Schema):
    run: SimilarityRunOut
    figures: list[CoverageFigureOut]


def _run(run: int | None) -> SimilarityRun:
    missing = f"No stored similarity run {run}" if run is not None else "No similarity run is stored"
    try:
        found = queries.get_run(run)
    except queries.RunNotFound as exc:
        raise NotFound(missing) from exc
    if found is None:
        raise NotFound(missing)
    return found


def _lookup(urn: int, run: int | None) -> tuple[SimilarityRun, SchoolSimilarity]:
    r, sim, _ = _resolve(urn, run)
    return r, sim


def _resolve(urn: int, run: int | None) -> tuple[SimilarityRun, SchoolSimilarity, dict[str, Any]]:
    """The run and row for `urn` (its own, else its results lineage's; default: the current run, else the
    newest run holding it) and whose figures they are."""
    _run(run)  # 404 when no run is stored or the id is unknown
    try:
        res = queries.resolve(urn, run)
    except queries.RunNotFound as exc:  # pragma: no cover - checked by _run
        raise NotFound(f"No stored similarity run {run}") from exc
    if res.run is None or res.sim is None:
        raise NotFound(
            f"No similar-schools results for URN {urn} in any stored run"
            if run is None
            else f"No similar-schools results for URN {urn} in run {run}"
        )
    return res.run, res.sim, queries.figures_from(urn, res)


RUN_PARAM = (
    " `run=<id>` picks a stored run (see /api/similarity/runs); default: the current run, else the newest run "
    "holding the school. A school without a row of its own is answered with the row of the school its results "
    "lineage reaches (the nearest GIAS predecessor in the run); `figures_from` names that school and year."
)


@router.get(
    "/schools/{urn}/family",
    **operation(
        PUBLIC_READ,
        FamilyOut,
        summary="Family of similar schools",
        description=(
            "The school's family: the most similar same-phase schools by intake, most similar first, with "
            "rank, distance in standardised feature space, great-circle miles, headline progress, pupils on "
            "roll and "
            "each feature. 404 when the school has no stored result." + RUN_PARAM
        ),
        problems=(404,),
    ),
)
def family(request: HttpRequest, urn: Id, run: OptionalId = None) -> dict[str, Any]:
    r, sim, source = _resolve(urn, run)
    features = [f for f, _ in (r.method or {}).get("features", [])]
    members = [
        {
            **{
                k: row.get(k)
                for k in (
                    "rank",
                    "urn",
                    "name",
                    "phase",
                    "distance",
                    "miles",
                    "headline",
                    "pupils",
                    "ofsted_date",
                )
            },
            "ofsted_rating": row.get("ofsted_rating") or "",
            "features": {f: row.get(f) for f in features},
        }
        for row in queries.family_rows(sim)
    ]
    return {
        "run": queries.run_info(r),
        "urn": urn,
        "figures_from": source,
        "phase": sim.phase,
        "headline": sim.headline,
        "features": {f: sim.features.get(f) for f in [*features, "NOR"]},
        "family": members,
    }


@router.get(
    "/schools/{urn}/partner",
    **operation(
        PUBLIC_READ,
        PartnerOut,
        summary="Better-performing partner",
        description=(
            "The nearest better-performing member of the school's family, its miles and whether it is within "
            "the run's radius (`status` within_radius, outside_radius — the nearest one anywhere — or "
            "top_of_family). "
            "`partner` follows the run's rule; `default` and `robust` give both rules." + RUN_PARAM
        ),
        problems=(404,),
    ),
)
def partner(request: HttpRequest, urn: Id, run: OptionalId = None) -> dict[str, Any]:
    r, sim, source = _resolve(urn, run)
    return {"run": queries.run_info(r), "urn": urn, "figures_from": source, **queries.partner_info(sim, r)}


@router.get(
    "/schools/{urn}/challenge-pairs",
    **operation(
        PUBLIC_READ,
        PairsOut,
        summary="Two-way challenge pairs",
        description=(
            "Family members within the radius where each school is clearly better than the other on some "
            "measure: score (the smaller of the two gains, in family SDs), miles, and the measures each side "
            "learns (`we_learn`: this school learns; `they_learn`: the other school learns). Best pairs "
            "first." + RUN_PARAM
        ),
        problems=(404,),
    ),
)
def challenge_pairs(request: HttpRequest, urn: Id, run: OptionalId = None) -> dict[str, Any]:
    r, sim = _lookup(urn, run)
    return {"run": queries.run_info(r), "urn": urn, "pairs": queries.pair_rows(sim)}


@router.get(
    "/schools/{urn}/strengths",
    **operation(
        PUBLIC_READ,
        StrengthsOut,
        summary="Strengths and weaknesses within the family",
        description=(
            "For each measure: the school's value, the family mean and SD, the z-score, the percentile in "
            "the family and the flag (strength / weakness when the gap is beyond 1.96 combined standard "
            "errors, else "
            "none)." + RUN_PARAM
        ),
        problems=(404,),
    ),
)
def strengths(request: HttpRequest, urn: Id, run: OptionalId = None) -> dict[str, Any]:
    r, sim, source = _resolve(urn, run)
    return {
        "run": queries.run_info(r),
        "urn": urn,
        "figures_from": source,
        "strengths": queries.strength_rows(sim),
    }


@router.get(
    "/similarity/coverage",
    **operation(
        PUBLIC_READ,
        CoverageOut,
        summary="Coverage of better-performing partners",
        description=(
            "Share of schools with a better-performing family member within each radius, by phase, region "
            '(`region` "" = England) and rule (`robust`). Optional filters: `phase`, `region` (use `England` for '
            "the national rows), `radius`, `robust`." + RUN_PARAM
        ),
        problems=(404,),
    ),
)
def coverage(
    request: HttpRequest,
    run: OptionalId = None,
    phase: str | None = None,
    region: str | None = None,
    radius: OptionalId = None,
    robust: bool | None = None,
) -> dict[str, Any]:
    r = _run(run)
    rows = queries.coverage_rows(r)
    if phase:
        rows = [x for x in rows if x["phase"] == phase]
    if region is not None:
        want = "" if region.strip().lower() in ("", "england") else region.strip()
        rows = [x for x in rows if x["region"] == want]
    if radius is not None:
        rows = [x for x in rows if x["radius_miles"] == radius]
    if robust is not None:
        rows = [x for x in rows if x["robust"] == robust]
    return {"run": queries.run_info(r), "figures": rows}


@router.get(
    "/similarity/runs",
    **operation(
        PUBLIC_READ,
        list[SimilarityRunOut],
        summary="Stored similar-schools runs",
        description=(
            "Every stored run (current first) with its method description, hash, family size, radius, rule "
            "and population sizes. Pass a run's id as `run=` to the other similar-schools operations."
        ),
    ),
)
def runs(request: HttpRequest) -> list[dict[str, Any]]:
    return [queries.run_info(r) for r in queries.runs()]
