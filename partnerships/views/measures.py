"""The DfE trust measures on the trust page and the compare page ("is this trust good?"), and their downloads.
The trust and compare views add `trust_page_context` / `compare_page_context` to their context; the sections are
the include templates `partnerships/_trust_measures.html` and `_compare_measures.html`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse

from partnerships import trust_measures as tm
from partnerships.models import Partnership
from schoolpartners.access import public_read
from schoolpartners.exports import Column, export_response

MEASURE_COLUMNS = [
    Column("label", "Measure"),
    Column("group_label", "Pupils"),
    Column("code", "DfE code (key stage prefix + field)"),
    Column("description", "DfE description"),
    Column("academic_year", "Academic year"),
    Column("value", "Trust value"),
    Column("note", "DfE code for a missing value"),
    Column("pupils", "Pupils (group count estimated from the published share)"),
    Column("low", "95% interval low"),
    Column("high", "95% interval high"),
    Column("interval_note", "Why no interval"),
    Column("england", "England (pupil-weighted over all trusts)"),
    Column("difference", "Trust minus England"),
    Column("verdict", "Compared with England (by the interval)"),
    Column("median", "Median trust"),
    Column("percentile", "Percentile among trusts"),
    Column("higher_than", "Trusts with a lower value"),
    Column("trusts", "Trusts with a value"),
]
COMPARE_COLUMNS = [
    Column("trust", "Trust"),
    Column("trust_id", "DfE trust id"),
    Column("label", "Measure"),
    Column("group_label", "Pupils"),
    Column("code", "DfE code (key stage prefix + field)"),
    Column("year", "Year (academic year ends)"),
    Column("value", "Trust value"),
    Column("note", "DfE code for a missing value"),
    Column("low", "95% interval low"),
    Column("high", "95% interval high"),
    Column("verdict", "Compared with England (by the interval)"),
    Column("percentile", "Percentile among trusts"),
    Column("england", "England (pupil-weighted over all trusts)"),
    Column("median", "Median trust"),
    Column("trusts", "Trusts with a value"),
]


def trust_page_context(p: Partnership) -> dict[str, Any]:
    return {
        "measures": tm.for_trust(p),
        "measures_exports": {
            f: reverse("partnerships:trust-measures-export", args=[p.pk, f]) for f in ("csv", "xlsx")
        },
        "dfe_exports": {
            f: reverse("partnerships:trust-export", args=[p.pk, "dfe", f]) for f in ("csv", "xlsx")
        },
    }


def compare_page_context(request: HttpRequest) -> dict[str, Any]:
    text = request.GET.get("pick", "")[:2000]
    ctx = tm.context()
    picks = tm.resolve(text) if text.strip() else tm.Picks([], [], {})
    current = [p.external_id for p in picks.trusts]
    suggestions = {
        term: [
            {
                "p": c,
                "url": "?" + urlencode({"pick": ", ".join([*current, c.external_id])}) + "#compare-measures",
            }
            for c in found
        ]
        for term, found in picks.ambiguous.items()
    }
    query = urlencode({"pick": text})
    return {
        "pick_text": text,
        "picks": picks,
        "suggestions": suggestions,
        "pick_rows": tm.side_by_side(picks.trusts, ctx) if ctx else [],
        "pick_year": ctx.academic_year if ctx else "",
        "pick_max": tm.MAX_PICKS,
        "pick_exports": {
            f: reverse("partnerships:compare-measures-export", args=[f]) + "?" + query
            for f in ("csv", "xlsx")
        },
    }


@public_read
def trust_measures_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse | StreamingHttpResponse:
    p = get_object_or_404(Partnership, pk=pk)
    m = tm.for_trust(p)
    rows = [tm.figure_row(f, m.year) for f in m.figures] if m else []
    return export_response(
        rows, MEASURE_COLUMNS, f"trust-{pk}-dfe-trust-measures", fmt, sheet="Trust measures"
    )


@public_read
def compare_measures_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    picks = tm.resolve(request.GET.get("pick", "")[:2000])
    rows = tm.side_by_side_rows(picks.trusts)
    return export_response(rows, COMPARE_COLUMNS, "trusts-side-by-side", fmt, sheet="Trusts side by side")
