"""'What works' pages: the evaluation index, one page per event type and per support type (effects with
intervals, pre-trends, table, exports). Views read stored estimates through `evaluation.queries`; nothing is
estimated per request. `?run=<id>` picks a stored run other than the current one."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse

from evaluation import charts, queries
from evaluation.models import EvaluationRun
from schoolpartners.access import public_read
from schoolpartners.exports import export_response

EXPORT_COLUMNS = [
    ("event_type", "Event type"),
    ("group", "Group"),
    ("measure", "Measure code"),
    ("measure_label", "Measure"),
    ("effect", "Effect (difference-in-differences)"),
    ("ci_low", "95% interval low"),
    ("ci_high", "95% interval high"),
    ("n_treated", "Treated schools"),
    ("n_comparison", "Comparison schools"),
    ("lead_2", "Pre-trend lead (2 years before)"),
    ("lead_2_low", "Lead interval low"),
    ("lead_2_high", "Lead interval high"),
]


def _run(request: HttpRequest) -> EvaluationRun | None:
    try:
        return queries.get_run(request.GET.get("run"))
    except queries.RunNotFound as exc:
        raise Http404("No stored evaluation run with that id") from exc


def _event_type(kind: str, code: str) -> str:
    if kind == "support":
        from support.models import SupportType

        if code not in SupportType.values and code != "brokered_deployment":
            raise Http404("Unknown support type")
        return f"support:{code}"
    if code not in queries.EVENT_LABELS:
        raise Http404("Unknown event type")
    return code


def _urls(event_type: str) -> dict[str, str]:
    if event_type.startswith("support:"):
        code = event_type.split(":", 1)[1]
        return {
            "page": reverse("evaluation:support", args=[code]),
            "csv": reverse("evaluation:support-export", args=[code, "csv"]),
            "xlsx": reverse("evaluation:support-export", args=[code, "xlsx"]),
        }
    return {
        "page": reverse("evaluation:event", args=[event_type]),
        "csv": reverse("evaluation:event-export", args=[event_type, "csv"]),
        "xlsx": reverse("evaluation:event-export", args=[event_type, "xlsx"]),
    }


@public_read
def index(request: HttpRequest) -> HttpResponse:
    run = _run(request)
    sections = []
    from support.models import SupportType

    types = [{"code": c, "label": queries.event_label(c)} for c in queries.EVENT_LABELS]
    types += [
        {"code": f"support:{c}", "label": queries.event_label(f"support:{c}")}
        for c in [*SupportType.values, "brokered_deployment"]
    ]
    for t in types:
        rows = queries.headline_rows(queries.effect_rows(run, t["code"])) if run else []
        sections.append(
            {
                **t,
                "urls": _urls(t["code"]),
                "rows": [r for r in rows if r["group_kind"] in ("all", "type_phase", "phase")],
            }
        )
    return render(request, "evaluation/index.html", {"run": run, "sections": sections})


def _event_page(request: HttpRequest, event_type: str) -> HttpResponse:
    run = _run(request)
    rows = queries.effect_rows(run, event_type) if run else []
    heads = queries.headline_rows(rows)
    main = [r for r in heads if r["group_kind"] != "trust"]
    trusts = [r for r in heads if r["group_kind"] == "trust"]
    studies: list[dict[str, Any]] = []
    for r in main:
        if r["group_kind"] in ("all", "type_phase"):
            cid = f"study-{len(studies)}"
            studies.append(
                {
                    "row": r,
                    "chart": charts.event_study_chart(
                        r["leads"], cid, f"Before and after: {r['group']}, {r['measure_label']}"
                    ),
                }
            )
    ctx: dict[str, Any] = {
        "run": run,
        "event_type": event_type,
        "label": queries.event_label(event_type),
        "rows": rows,
        "main": main,
        "trusts": trusts,
        "studies": studies,
        "urls": _urls(event_type),
        "chart": charts.effects_chart(main, "effects-chart", f"Effects: {queries.event_label(event_type)}")
        if main
        else None,
        "counts": (run.counts.get(event_type) if run else None) or {},
        "exports": {"csv": _urls(event_type)["csv"], "xlsx": _urls(event_type)["xlsx"]},
    }
    return render(request, "evaluation/event.html", ctx)


@public_read
def event(request: HttpRequest, code: str) -> HttpResponse:
    return _event_page(request, _event_type("event", code))


@public_read
def support(request: HttpRequest, code: str) -> HttpResponse:
    return _event_page(request, _event_type("support", code))


def _export(request: HttpRequest, event_type: str, fmt: str) -> HttpResponse | StreamingHttpResponse:
    run = _run(request)
    rows = queries.effect_rows(run, event_type) if run else []
    name = f"evaluation-{event_type.replace(':', '-')}"
    return export_response(rows, EXPORT_COLUMNS, name, fmt, sheet="Effects")


@public_read
def event_export(request: HttpRequest, code: str, fmt: str) -> HttpResponse | StreamingHttpResponse:
    return _export(request, _event_type("event", code), fmt)


@public_read
def support_export(request: HttpRequest, code: str, fmt: str) -> HttpResponse | StreamingHttpResponse:
    return _export(request, _event_type("support", code), fmt)
