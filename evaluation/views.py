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
            "designs_csv": reverse("evaluation:support-designs-export", args=[code, "csv"]),
            "designs_xlsx": reverse("evaluation:support-designs-export", args=[code, "xlsx"]),
        }
    return {
        "page": reverse("evaluation:event", args=[event_type]),
        "csv": reverse("evaluation:event-export", args=[event_type, "csv"]),
        "xlsx": reverse("evaluation:event-export", args=[event_type, "xlsx"]),
        "designs_csv": reverse("evaluation:event-designs-export", args=[event_type, "csv"]),
        "designs_xlsx": reverse("evaluation:event-designs-export", args=[event_type, "xlsx"]),
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
        designs = queries.design_rows(run, t["code"]) if run else []
        sections.append({**t, "urls": _urls(t["code"]), "groups": _design_groups(designs, charts_too=False)})
    return render(request, "evaluation/index.html", {"run": run, "sections": sections})


UNITS = {"KS2_PROGRESS": "KS2 progress points", "P8MEA": "Progress 8 points (grades per subject)"}

DESIGN_EXPORT_COLUMNS = [
    ("event_type", "Event type"),
    ("group", "Group"),
    ("design_label", "Design"),
    ("measure_label", "Measure"),
    ("effect", "Effect"),
    ("ci_low", "95% interval low"),
    ("ci_high", "95% interval high"),
    ("n_treated", "Treated schools"),
    ("n_comparison", "Comparison schools"),
    ("n_clusters", "Local authorities (clusters)"),
    ("placebo_rtm", "Placebo: pseudo-events with the same pre-event results"),
    ("placebo_early", "Placebo: event two years early"),
    ("status_label", "Placebo verdict"),
    ("headline", "Headlined"),
    ("needed", "Schools needed"),
]


def _dedupe(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop a row that repeats an earlier one's estimate (e.g. a type that is the whole phase)."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for r in rows:
        key = (r["measure"], r["effect"], r["ci_low"], r["ci_high"], r["n_treated"])
        if r["effect"] is not None and key in seen:
            continue
        seen.add(key)
        out.append(r)
    return out


def _design_groups(designs: list[dict[str, Any]], charts_too: bool = True) -> list[dict[str, Any]]:
    """Per group: its designs, the headline (if any), the event-study chart and the matched balance."""
    groups: dict[str, dict[str, Any]] = {}
    for d in designs:
        g = groups.setdefault(
            d["group"],
            {
                "group": d["group"],
                "measure": d["measure"],
                "measure_label": d["measure_label"],
                "designs": [],
            },
        )
        g["designs"].append(d)
    out = []
    for i, g in enumerate(groups.values()):
        ds = g["designs"]
        g["headline"] = next((d for d in ds if d["headline"]), None)
        g["not_enough"] = all(d["status"] == "not_enough" for d in ds)
        g["needed"] = max((d["needed"] for d in ds), default=0)
        g["have"] = max((d["counts"].get("with_results", 0) for d in ds), default=0)
        g["matched"] = next((d for d in ds if d["design"] == "matched_did"), None)
        es = next((d for d in ds if d["design"] == "event_study" and d["leads"]), None)
        g["event_study"] = es
        g["slug"] = f"group-{i}"
        unit = UNITS.get(g["measure"], "")
        g["unit"] = unit
        if es and charts_too:
            g["chart"] = charts.event_study_chart(
                es["leads"], f"study-{i}", f"Event study: {g['group']}, {g['measure_label']}", unit
            )
        out.append(g)
    return out


def _event_page(request: HttpRequest, event_type: str) -> HttpResponse:
    run = _run(request)
    rows = _dedupe(queries.effect_rows(run, event_type)) if run else []
    heads = queries.headline_rows(rows)
    main = [r for r in heads if r["group_kind"] != "trust"]
    trusts = [r for r in heads if r["group_kind"] == "trust"]
    designs = queries.design_rows(run, event_type) if run else []
    groups = _design_groups(designs)
    design_charts = []
    for measure, unit in UNITS.items():
        ds = [
            {**d, "label": f"{d['group']}: {d['design_label']}"}
            for d in designs
            if d["measure"] == measure and d["effect"] is not None
        ]
        if ds:
            design_charts.append(
                {
                    "unit": unit,
                    "chart": charts.effects_chart(
                        ds, f"designs-{measure.lower()}", f"Designs compared: {unit}", unit, "label"
                    ),
                }
            )
    naive_charts = []
    for measure, unit in UNITS.items():
        ms = [r for r in main if r["measure"] == measure]
        if ms:
            naive_charts.append(
                {
                    "unit": unit,
                    "chart": charts.effects_chart(
                        ms, f"naive-{measure.lower()}", f"Naive comparison: {unit}", unit
                    ),
                }
            )
    urls = _urls(event_type)
    ctx: dict[str, Any] = {
        "run": run,
        "event_type": event_type,
        "label": queries.event_label(event_type),
        "rows": rows,
        "main": main,
        "trusts": trusts,
        "designs": designs,
        "groups": groups,
        "design_charts": design_charts,
        "naive_charts": naive_charts,
        "steps": queries.steps(run, event_type),
        "urls": urls,
        "counts": (run.counts.get(event_type) if run else None) or {},
        "exports": {"csv": urls["csv"], "xlsx": urls["xlsx"]},
        "design_exports": {"csv": urls["designs_csv"], "xlsx": urls["designs_xlsx"]},
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


def _designs_export(request: HttpRequest, event_type: str, fmt: str) -> HttpResponse | StreamingHttpResponse:
    run = _run(request)
    rows = queries.design_rows(run, event_type) if run else []
    name = f"evaluation-designs-{event_type.replace(':', '-')}"
    return export_response(rows, DESIGN_EXPORT_COLUMNS, name, fmt, sheet="Designs")


@public_read
def event_designs_export(request: HttpRequest, code: str, fmt: str) -> HttpResponse | StreamingHttpResponse:
    return _designs_export(request, _event_type("event", code), fmt)


@public_read
def support_designs_export(request: HttpRequest, code: str, fmt: str) -> HttpResponse | StreamingHttpResponse:
    return _designs_export(request, _event_type("support", code), fmt)
