"""'What works': reads of stored estimates and school events for pages, exports and the API.

The write (`run_national`, which reads the database, evaluates and stores one run) is in `evaluation.services`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet

from evaluation.credible import DESIGN_LABELS, PLACEBO_LABELS
from evaluation.models import EvaluationRun, SchoolEvent
from evaluation.national import EVENT_LABELS, HEADLINE, MEASURE_LABELS, PHASE_MEASURES

__all__ = [
    "EVENT_LABELS",
    "design_rows",
    "headline_designs",
    "steps",
    "RunNotFound",
    "current_run",
    "effect_rows",
    "event_label",
    "event_types",
    "get_run",
    "headline_rows",
    "measure_label",
    "runs",
    "school_events",
]


def event_label(event_type: str) -> str:
    if event_type.startswith("support:"):
        from support.models import SupportType

        code = event_type.split(":", 1)[1]
        if code == "brokered_deployment":
            return "Support: brokered deployments"
        return f"Support: {dict(SupportType.choices).get(code, code)}"
    return EVENT_LABELS.get(event_type, event_type)


def measure_label(code: str) -> str:
    return MEASURE_LABELS.get(code, code)


class RunNotFound(Exception):
    pass


def current_run() -> EvaluationRun | None:
    return EvaluationRun.objects.filter(is_current=True).first()


def get_run(run_id: int | str | None = None) -> EvaluationRun | None:
    if run_id in (None, ""):
        return current_run()
    try:
        return EvaluationRun.objects.get(pk=int(run_id))  # type: ignore[arg-type]
    except (EvaluationRun.DoesNotExist, ValueError, TypeError) as exc:
        raise RunNotFound(str(run_id)) from exc


def runs() -> QuerySet[EvaluationRun]:
    return EvaluationRun.objects.all()


def event_types(run: EvaluationRun | None) -> list[dict[str, Any]]:
    if run is None:
        return []
    types = sorted(set(run.estimates.values_list("event_type", flat=True)))
    return [{"code": t, "label": event_label(t), "is_support": t.startswith("support:")} for t in types]


def effect_rows(run: EvaluationRun, event_type: str, measure: str | None = None) -> list[dict[str, Any]]:
    """The stored estimates of one event type as dicts (pages, exports and the API)."""
    qs = run.estimates.filter(event_type=event_type)
    if measure:
        qs = qs.filter(measure=measure)
    order = {"all": 0, "phase": 1, "type": 2, "type_phase": 3, "trust": 4}
    rows = []
    for e in qs:
        lead2 = e.leads.get("-2") or {}
        rows.append(
            {
                "event_type": e.event_type,
                "group": e.group,
                "group_kind": e.group_kind,
                "measure": e.measure,
                "measure_label": measure_label(e.measure),
                "effect": e.effect,
                "ci_low": e.ci_low,
                "ci_high": e.ci_high,
                "n_treated": e.n_treated,
                "n_comparison": e.n_comparison,
                "clear": e.ci_low is not None and e.ci_high is not None and (e.ci_low > 0 or e.ci_high < 0),
                "lead_2": lead2.get("effect"),
                "lead_2_low": lead2.get("ci_low"),
                "lead_2_high": lead2.get("ci_high"),
                "leads": e.leads,
            }
        )
    rows.sort(key=lambda r: (order.get(r["group_kind"], 9), r["group"], _measure_pos(r["measure"])))
    return rows


def _measure_pos(code: str) -> int:
    allm = [*PHASE_MEASURES["primary"], *PHASE_MEASURES["secondary"]]
    return allm.index(code) if code in allm else len(allm)


def headline_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only the phase headline measure rows (KS2 progress for primary groups, P8 for secondary)."""
    heads = set(HEADLINE.values())
    return [r for r in rows if r["measure"] in heads]


def school_events(urn: int, run: EvaluationRun | None = None) -> list[SchoolEvent]:
    run = run or current_run()
    if run is None:
        return []
    return list(SchoolEvent.objects.filter(run=run, urn=urn).order_by("date"))


STATUS_LABELS = {
    "passed": "Passed its placebo tests",
    "failed": "Failed a placebo test: not headlined",
    "untested": "Placebo tests could not be run",
    "not_enough": "Not enough schools yet",
}
DESIGN_ORDER = {"matched_did": 0, "pipeline": 1, "event_study": 2}


def design_rows(run: EvaluationRun, event_type: str) -> list[dict[str, Any]]:
    """Every stored credible design of one event type (pages, exports and the API), groups in a stable order."""
    order = {"phase": 0, "type_phase": 1}
    rows = []
    for d in run.designs.filter(event_type=event_type):
        placebos = {
            k: {**v, "name": k, "label": PLACEBO_LABELS.get(k, k)}
            for k, v in sorted((d.placebos or {}).items())
        }
        rows.append(
            {
                "event_type": d.event_type,
                "group": d.group,
                "group_kind": d.group_kind,
                "design": d.design,
                "design_label": DESIGN_LABELS.get(d.design, d.design),
                "measure": d.measure,
                "measure_label": measure_label(d.measure),
                "effect": d.effect,
                "ci_low": d.ci_low,
                "ci_high": d.ci_high,
                "se": d.se,
                "n_treated": d.n_treated,
                "n_comparison": d.n_comparison,
                "n_clusters": d.n_clusters,
                "status": d.status,
                "status_label": STATUS_LABELS.get(d.status, d.status),
                "needed": d.needed,
                "headline": d.headline,
                "placebos": placebos,
                "placebo_rtm": placebos.get("rtm", {}).get("effect"),
                "placebo_early": placebos.get("early", {}).get("effect"),
                "balance": d.balance,
                "leads": d.leads,
                "counts": d.counts,
            }
        )
    rows.sort(key=lambda r: (order.get(r["group_kind"], 9), r["group"], DESIGN_ORDER.get(r["design"], 9)))
    return rows


def headline_designs(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["headline"]]


def steps(run: EvaluationRun | None, event_type: str) -> dict[str, int]:
    if run is None:
        return {}
    return dict((run.counts.get("steps") or {}).get(event_type) or {})
