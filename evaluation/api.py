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


class EffectsOut(Schema):
    run: EvaluationRunOut
    event_type: str
    event_label: str
    effects: list[EffectOut]


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
        "`support:<type>`), every group and measure, with 95% intervals, numbers of treated and "
        "comparison schools and the event-study leads/lags (`-1` is the reference year).",
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
