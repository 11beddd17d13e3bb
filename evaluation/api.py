"""Public, read-only JSON API over the stored 'what works' estimates (mounted at /api/ in schoolpartners/api.py).

Paths: /api/evaluation/runs/current, /api/evaluation/effects?event_type=..., /api/schools/{urn}/before-after.
Every answer names the run it comes from; `run=<id>` picks a stored run other than the current one; a missing
run raises `NotFound` (a 404 problem body, schoolpartners/apikit.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from evaluation import queries
from evaluation.models import EvaluationRun
from schoolpartners.access import PUBLIC_READ
from schoolpartners.apikit import operation
from schoolpartners.errors import NotFound
from schoolpartners.params import Id, OptionalId

router = Router(tags=["what works"])


class EvaluationRunOut(Schema):
    run_id: int
    created_at: dt.datetime
    is_current: bool
    description: str
    families_source: str
    counts: dict[str, Any]


class LeadOut(Schema):
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    n: int


class EffectOut(Schema):
    event_type: str
    group: str
    group_kind: str
    measure: str
    measure_label: str
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    n_treated: int
    n_comparison: int
    leads: dict[str, LeadOut]


class PlaceboOut(Schema):
    name: str
    label: str
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    n_treated: int
    covers_zero: bool | None


class BalanceOut(Schema):
    covariate: str
    treated_mean: float | None
    pool_mean: float | None
    matched_mean: float | None
    smd_before: float | None
    smd_after: float | None
    n_treated: int


class DesignOut(Schema):
    group: str
    group_kind: str
    design: str
    design_label: str
    measure: str
    measure_label: str
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    se: float | None
    n_treated: int
    n_comparison: int
    n_clusters: int
    status: str
    status_label: str
    needed: int
    headline: bool
    placebos: dict[str, PlaceboOut]
    balance: list[BalanceOut]
    leads: dict[str, LeadOut]
    counts: dict[str, int]


class EffectsOut(Schema):
    run: EvaluationRunOut
    event_type: str
    event_label: str
    effects: list[EffectOut]
    designs: list[DesignOut]
    steps: dict[str, int]


class YearOut(Schema):
    year: int
    value: float | None
    comparison: float | None
    n_comparison: int


class SchoolEventOut(Schema):
    event_type: str
    date: dt.date
    predecessor: int | None
    detail: str
    measure: str
    last_pre: int
    first_post: int
    effect: float | None
    n_comparison: int
    series: list[YearOut]


class BeforeAfterOut(Schema):
    run: EvaluationRunOut
    urn: int
    events: list[SchoolEventOut]


def _run_out(run: EvaluationRun) -> dict[str, Any]:
    return {
        "run_id": run.pk,
        "created_at": run.created_at,
        "is_current": run.is_current,
        "description": run.description,
        "families_source": run.families_source,
        "counts": run.counts,
    }


def _run(run: int | None) -> EvaluationRun:
    try:
        found = queries.get_run(run)
    except queries.RunNotFound as exc:
        raise NotFound("No stored evaluation run") from exc
    if found is None:
        raise NotFound("No stored evaluation run")
    return found


@router.get(
    "/evaluation/runs/current",
    **operation(
        PUBLIC_READ,
        EvaluationRunOut,
        description="The current stored evaluation run (or `run=<id>`).",
        problems=(404,),
    ),
)
def current(request: HttpRequest, run: OptionalId = None) -> dict[str, Any]:
    r = _run(run)
    return _run_out(r)


@router.get(
    "/evaluation/effects",
    **operation(
        PUBLIC_READ,
        EffectsOut,
        description="Stored effects of one event type (`conversion`, `sponsor_change`, "
        "`support:<type>`, `support:brokered_deployment`). `designs`: the credible designs (matched "
        "difference-in-differences, pipeline of later converters, Sun & Abraham event study) per group "
        "with 95% cluster-robust intervals, their placebo results (`rtm`: pseudo-events on never-treated "
        "schools with the same pre-event results; `early`: the event two years early), `status` "
        "(passed, failed, untested, not_enough with `needed` schools), `headline` (the first design "
        "that passed), the balance table (standardised mean differences before and after matching) "
        "and counts. `steps`: schools at each step (links, dated, undated, events, with results, "
        "matched). `effects`: the naive comparison against each school's similar-schools family, "
        "every group and measure, with the event-study leads/lags (`-1` is the reference year).",
        problems=(404,),
    ),
)
def effects(
    request: HttpRequest, event_type: str = "conversion", measure: str | None = None, run: OptionalId = None
) -> dict[str, Any]:
    r = _run(run)
    rows = queries.effect_rows(r, event_type, measure)
    return {
        "run": _run_out(r),
        "event_type": event_type,
        "event_label": queries.event_label(event_type),
        "effects": rows,
        "designs": queries.design_rows(r, event_type),
        "steps": queries.steps(r, event_type),
    }


@router.get(
    "/schools/{urn}/before-after",
    **operation(
        PUBLIC_READ,
        BeforeAfterOut,
        description="One school's events in the evaluation window and its headline result "
        "against the mean of its comparison schools, year by year.",
        problems=(404,),
    ),
)
def before_after(request: HttpRequest, urn: Id, run: OptionalId = None) -> dict[str, Any]:
    r = _run(run)
    evs = queries.school_events(urn, r)
    return {
        "run": _run_out(r),
        "urn": urn,
        "events": [
            {
                "event_type": e.event_type,
                "date": e.date,
                "predecessor": e.predecessor,
                "detail": e.detail,
                "measure": e.measure,
                "last_pre": e.last_pre,
                "first_post": e.first_post,
                "effect": e.effect,
                "n_comparison": e.n_comparison,
                "series": e.series,
            }
            for e in evs
        ],
    }
