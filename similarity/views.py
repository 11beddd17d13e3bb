"""Similar-schools pages: a school's family, strengths and weaknesses, partner and challenge pairs; national
coverage; stored runs; the methodology. Views validate input, read stored results through
`similarity.queries` and render; nothing is computed per request. `?run=<id>` picks a stored run other than the
current one, so every page states which method produced its figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from schoolpartners.access import public_read
from schoolpartners.exports import Column, export_response
from schoolpartners.markdown import markdown_to_html
from schoolpartners.pagecache import cache_public_page
from schools.measures import MEASURES, academic_year_label
from schools.models import School
from similarity import charts, queries
from similarity.models import SchoolSimilarity, SimilarityRun

PHASE_LABEL = {"primary": "Primary", "secondary": "Secondary"}
HEADLINE_LABEL = {
    "primary": "KS2 progress (mean of reading, writing and maths)",
    "secondary": "Progress 8",
}


def _run_or_404(request: HttpRequest) -> SimilarityRun | None:
    try:
        return queries.get_run(request.GET.get("run"))
    except queries.RunNotFound as exc:
        raise Http404("No stored similarity run with that id") from exc


def _query(get: QueryDict, **changes: Any) -> str:
    query = get.copy()
    for key, value in changes.items():
        if value is None or value == "":
            query.pop(key, None)
        else:
            query[key] = str(value)
    return query.urlencode()


def _with_query(url: str, query: str) -> str:
    return f"{url}?{query}" if query else url


def _run_context(run: SimilarityRun | None) -> dict[str, Any]:
    if run is None:
        return {"run": None}
    m = run.method or {}
    return {
        "run": run,
        "run_year": academic_year_label(int(m.get("year", 2019))),
        "radius": m.get("radius_miles", 75),
        "family_size": m.get("family_size", 50),
        "run_query": "" if run.is_current else f"run={run.pk}",
        "run_choices": [queries.run_info(r) for r in queries.runs()[:50]],
    }


# ---------------------------------------------------------------------------------------------------------------
# A school's similar schools
# ---------------------------------------------------------------------------------------------------------------
def family_columns(features: list[str]) -> list[tuple[str, str, bool]]:
    """(key, heading, numeric) of the family table, in order."""
    return [
        ("rank", "Rank", True),
        ("name", "School", False),
        ("phase", "Phase", False),
        ("distance", "Distance in feature space", True),
        ("miles", "Miles away", True),
        ("pupils", "Pupils (number on roll)", True),
        ("headline", "Headline", True),
        *((f, queries.FEATURE_LABELS.get(f, f), True) for f in features),
        ("ofsted_rating", "Latest Ofsted judgement", False),
        ("ofsted_date", "Inspected", False),
    ]


def sort_rows(rows: list[dict[str, Any]], key: str, descending: bool) -> list[dict[str, Any]]:
    """Sort by `key`; missing values always last; ties by rank."""
    present = [r for r in rows if r.get(key) is not None]
    missing = [r for r in rows if r.get(key) is None]

    def k(r: dict[str, Any]) -> Any:
        v = r[key]
        return v.lower() if isinstance(v, str) else v

    present.sort(key=lambda r: r["rank"])
    present.sort(key=k, reverse=descending)
    return present + missing


def _family_features(run: SimilarityRun) -> list[str]:
    return [f for f, _ in (run.method or {}).get("features", [])]


def _sort_params(request: HttpRequest, allowed: set[str]) -> tuple[str, bool]:
    key = request.GET.get("sort", "rank")
    if key not in allowed:
        key = "rank"
    return key, request.GET.get("order", "asc") == "desc"


def _export_links(urn: int, table: str, query: str) -> dict[str, str]:
    return {
        fmt: _with_query(reverse("similarity:school-export", args=[urn, table, fmt]), query)
        for fmt in ("csv", "xlsx")
    }


def _resolve_or_404(request: HttpRequest, urn: int) -> queries.Resolved:
    try:
        return queries.resolve(urn, request.GET.get("run"))
    except queries.RunNotFound as exc:
        raise Http404("No stored similarity run with that id") from exc


def headline_label(run: SimilarityRun, phase: str) -> str:
    """ "Progress 8, 2018/19", "Attainment 8, 2024/25", "KS2 progress (...), 2018/19" from the run's method."""
    m = run.method or {}
    cols = tuple(dict((p, tuple(c)) for p, c in m.get("headline") or []).get(phase, ()))
    year = int(dict(m.get("headline_year") or []).get(phase, m.get("year", 2019)))
    if cols == ("READPROG", "WRITPROG", "MATPROG"):
        label = HEADLINE_LABEL["primary"]
    elif len(cols) == 1 and cols[0] in MEASURES:
        label = MEASURES[cols[0]].label
    else:
        label = HEADLINE_LABEL.get(phase, "Headline")
    return f"{label}, {academic_year_label(year)}"


@public_read
@cache_public_page
def school_similar(request: HttpRequest, urn: int) -> HttpResponse:
    school = get_object_or_404(School, urn=urn)
    resolved = _resolve_or_404(request, urn)
    run, sim = resolved.run, resolved.sim
    context: dict[str, Any] = {"school": school, **_run_context(run), "sim": sim, "resolved": resolved}
    if run is None or sim is None:
        return render(request, "similarity/school_similar.html", context)
    features = _family_features(run)
    columns = family_columns(features)
    sort, descending = _sort_params(request, {c[0] for c in columns})
    rows = sort_rows(queries.family_rows(sim), sort, descending)
    headers = []
    for key, label, numeric in columns:
        current = key == sort
        next_desc = current and not descending
        headers.append(
            {
                "key": key,
                "label": label,
                "numeric": numeric,
                "aria_sort": ("descending" if descending else "ascending") if current else "none",
                "url": "?" + _query(request.GET, sort=key, order="desc" if next_desc else "asc") + "#family",
            }
        )
    run_q = "" if run.is_current else f"run={run.pk}"
    family_q = _query(
        request.GET, sort=sort if sort != "rank" else None, order="desc" if descending else None
    )
    strengths = queries.strength_rows(sim)
    chart = charts.zscore_chart(
        [charts.Bar(s["label"], s["z"], s["flag"]) for s in strengths],
        "strengths-chart",
        f"{school.name}: z-scores within its family of similar schools",
    )
    partner = queries.partner_info(sim, run)
    pairs = queries.pair_rows(sim)
    context.update(
        {
            "phase_label": PHASE_LABEL.get(sim.phase, sim.phase),
            "headline_label": headline_label(run, sim.phase),
            "measures_year": academic_year_label(queries.headline_year(run, sim.phase)),
            "features": [(f, queries.FEATURE_LABELS.get(f, f)) for f in features],
            "own_features": [(queries.FEATURE_LABELS.get(f, f), sim.features.get(f)) for f in features],
            "family": rows,
            "headers": headers,
            "strengths": strengths,
            "chart": chart,
            "partner": partner,
            "pairs": pairs,
            "exports": {
                "family": _export_links(urn, "family", family_q),
                "strengths": _export_links(urn, "strengths", run_q),
                "pairs": _export_links(urn, "pairs", run_q),
            },
            "n_strengths": sum(1 for s in strengths if s["flag"] == "strength"),
            "n_weaknesses": sum(1 for s in strengths if s["flag"] == "weakness"),
        }
    )
    return render(request, "similarity/school_similar.html", context)


def _family_export(
    sim: SchoolSimilarity, run: SimilarityRun, request: HttpRequest
) -> tuple[list[dict[str, Any]], list[Column]]:
    features = _family_features(run)
    columns = family_columns(features)
    sort, descending = _sort_params(request, {c[0] for c in columns})
    rows = sort_rows(queries.family_rows(sim), sort, descending)
    partner = sim.partner_id
    for r in rows:
        r["role"] = "Suggested partner" if r["urn"] == partner else "Family member"
    own = queries.own_row(sim)
    own["role"] = "This school"
    rows = [own, *rows]
    note = f"Run {run.pk} ({run.created_at:%d %B %Y}): {run.method_obj.plain_words()} Technical: {run.description}"
    for r in rows:
        r["phase"] = str(r.get("phase") or "").capitalize()
        r["note"] = note
    spec = [
        Column("rank", "Rank (0: this school)"),
        Column("role", "Role"),
        Column("urn", "URN"),
        Column("name", "School"),
        Column("town", "Town"),
        Column("phase", "Phase"),
        Column("distance", "Distance in feature space"),
        Column("miles", "Miles away"),
        Column("pupils", "Pupils (number on roll)"),
        Column("headline", "Headline"),
        *(Column(f, queries.FEATURE_LABELS.get(f, f)) for f in features),
        Column("ofsted_rating", "Latest Ofsted judgement"),
        Column("ofsted_date", "Latest Ofsted inspection date"),
        Column("note", "Run and method"),
    ]
    return rows, spec


STRENGTH_COLUMNS = [
    Column("measure", "Measure code"),
    Column("label", "Measure"),
    Column("value", "School value"),
    Column("family_mean", "Family mean"),
    Column("family_sd", "Family SD"),
    Column("z", "z-score"),
    Column("percentile", "Percentile in family"),
    Column("flag", "Strength or weakness"),
    Column("family_values", "Family members with a value"),
]
PAIR_COLUMNS = [
    Column("urn", "URN"),
    Column("name", "School"),
    Column("miles", "Miles away"),
    Column("score", "Pair score"),
    Column("gain_self", "What this school gains (z)"),
    Column("gain_other", "What the other school gains (z)"),
    Column("we_learn", "This school learns", get=lambda r: "; ".join(r["we_learn_labels"])),
    Column("they_learn", "The other school learns", get=lambda r: "; ".join(r["they_learn_labels"])),
]


@public_read
def school_export(
    request: HttpRequest, urn: int, table: str, fmt: str
) -> HttpResponse | StreamingHttpResponse:
    urn = int(urn)
    get_object_or_404(School, urn=urn)
    resolved = _resolve_or_404(request, urn)
    run, sim = resolved.run, resolved.sim
    if run is None or sim is None:
        raise Http404("No similar-schools results are stored for this school")
    if table == "family":
        rows, spec = _family_export(sim, run, request)
    elif table == "strengths":
        rows, spec = queries.strength_rows(sim), STRENGTH_COLUMNS
    elif table == "pairs":
        rows, spec = queries.pair_rows(sim), PAIR_COLUMNS
    else:
        raise Http404("No such table")
    return export_response(
        rows, spec, f"school-{urn}-similar-{table}-run-{run.pk}", fmt, sheet=table.capitalize()
    )


# ---------------------------------------------------------------------------------------------------------------
# National coverage
# ---------------------------------------------------------------------------------------------------------------
def coverage_tables(run: SimilarityRun) -> dict[str, Any]:
    rows = queries.coverage_rows(run)
    radii = sorted({r["radius_miles"] for r in rows})
    england: list[dict[str, Any]] = []
    regions: dict[str, list[dict[str, Any]]] = {}
    for phase in ("primary", "secondary"):
        for robust in (False, True):
            cells = {
                r["radius_miles"]: r
                for r in rows
                if r["phase"] == phase and r["region"] == "" and r["robust"] == robust
            }
            if not cells:
                continue
            england.append(
                {
                    "phase": phase,
                    "phase_label": PHASE_LABEL[phase],
                    "robust": robust,
                    "rule": "Robust" if robust else "Default",
                    "schools": next(iter(cells.values()))["schools"],
                    "cells": [cells.get(r) for r in radii],
                }
            )
        names = sorted({r["region"] for r in rows if r["phase"] == phase and r["region"]})
        table = []
        for name in names:
            d = {
                (r["radius_miles"], r["robust"]): r
                for r in rows
                if r["phase"] == phase and r["region"] == name
            }
            any_row = next(iter(d.values()))
            table.append(
                {
                    "region": name,
                    "schools": any_row["schools"],
                    "default": [d.get((r, False)) for r in radii],
                    "robust": [d.get((r, True)) for r in radii],
                }
            )
        if table:
            regions[phase] = table
    return {"rows": rows, "radii": radii, "england": england, "regions": regions}


@public_read
@cache_public_page
def coverage(request: HttpRequest) -> HttpResponse:
    run = _run_or_404(request)
    context: dict[str, Any] = _run_context(run)
    if run is not None:
        tables = coverage_tables(run)
        series = []
        styles = {
            ("primary", False): (charts.BLUE, ""),
            ("primary", True): (charts.BLUE, "8 5"),
            ("secondary", False): (charts.RED, ""),
            ("secondary", True): (charts.RED, "8 5"),
        }
        for row in tables["england"]:
            colour, dash = styles[(row["phase"], row["robust"])]
            series.append(
                charts.Series(
                    f"{row['phase_label']}, {row['rule'].lower()}",
                    {
                        r: (c["percent"] if c else None)
                        for r, c in zip(tables["radii"], row["cells"], strict=True)
                    },
                    colour,
                    dash,
                )
            )
        run_q = "" if run.is_current else f"run={run.pk}"
        context.update(
            {
                **tables,
                "chart": charts.coverage_chart(
                    series,
                    "coverage-chart",
                    "England: share of schools with a better-performing partner within R miles",
                ),
                "exports": {
                    fmt: _with_query(reverse("similarity:coverage-export", args=[fmt]), run_q)
                    for fmt in ("csv", "xlsx")
                },
                "excluded": run.excluded,
            }
        )
    return render(request, "similarity/coverage.html", context)


COVERAGE_COLUMNS = [
    Column("phase", "Phase"),
    Column("region", "Region", get=lambda r: r["region"] or "England"),
    Column("robust", "Rule", get=lambda r: "robust" if r["robust"] else "default"),
    Column("radius_miles", "Radius (miles)"),
    Column("schools", "Schools"),
    Column("covered", "Schools with a partner within the radius"),
    Column("percent", "Coverage (%)"),
]


@public_read
def coverage_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    run = _run_or_404(request)
    if run is None:
        raise Http404("No similarity run is stored")
    return export_response(
        queries.coverage_rows(run),
        COVERAGE_COLUMNS,
        f"similarity-coverage-run-{run.pk}",
        fmt,
        sheet="Coverage",
    )


# ---------------------------------------------------------------------------------------------------------------
# Runs and methodology
# ---------------------------------------------------------------------------------------------------------------
RUN_COLUMNS = [
    Column("run_id", "Run"),
    Column("is_current", "Current"),
    Column("created_at", "Computed at"),
    Column("method_hash", "Method hash"),
    Column("family_size", "Family size"),
    Column("radius_miles", "Radius (miles)"),
    Column("robust", "Robust partner shown"),
    Column("method_description", "Method"),
]


@public_read
@cache_public_page
def runs(request: HttpRequest) -> HttpResponse:
    items = [queries.run_info(r) for r in queries.runs()]
    return render(
        request,
        "similarity/runs.html",
        {
            "runs": items,
            "exports": {fmt: reverse("similarity:runs-export", args=[fmt]) for fmt in ("csv", "xlsx")},
        },
    )


@public_read
def runs_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    return export_response(
        [queries.run_info(r) for r in queries.runs()], RUN_COLUMNS, "similarity-runs", fmt, sheet="Runs"
    )


METHODOLOGY = Path(settings.BASE_DIR) / "docs" / "methodology-similarity.md"


@public_read
@cache_public_page
def methodology(request: HttpRequest) -> HttpResponse:
    text = (
        METHODOLOGY.read_text(encoding="utf-8")
        if METHODOLOGY.exists()
        else "# Similar schools: methodology\n"
    )
    title, _, body = text.partition("\n")
    return render(
        request,
        "similarity/methodology.html",
        {
            "title": title.lstrip("# ").strip(),
            "body": markdown_to_html(body),
            "run": queries.current_run(),
            "measures": MEASURES,
        },
    )
