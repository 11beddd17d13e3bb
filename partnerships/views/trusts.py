"""Trust pages: compare trusts, a trust's page (map, members, pupil-weighted results, geography), member-mapping
coverage, the methodology and sponsors. Aggregates are stored by `schoolpartners partnerships recompute`, never
computed per request."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from accounts.permissions import schools_of
from partnerships import aggregates as agg
from partnerships import attribution as attr
from partnerships import queries
from partnerships.models import (
    Kind,
    Membership,
    Partnership,
    TrustAggregate,
)
from partnerships.views.common import COMPACTNESS, PHASES, _int, _query
from partnerships.views.measures import compare_page_context, trust_page_context
from schoolpartners.access import public_read
from schoolpartners.exports import Column, export_response
from schoolpartners.params import MAX_PAGE, query_int
from schools.measures import MEASURES, academic_year_label

# ---------------------------------------------------------------------------------------------------------------
# Compare trusts
# ---------------------------------------------------------------------------------------------------------------
COMPARE_COLUMNS = [
    ("name", "Trust", False),
    ("members", "Schools", True),
    ("pupils", "Pupils", True),
    ("region", "Main region", False),
    ("phase", "Main phase", False),
    ("ks2", "KS2 progress", True),
    ("ks4", "Progress 8", True),
    ("compactness", "Geography", False),
    ("max_pair", "Widest spread (miles)", True),
    ("las", "Local authorities", True),
]


def _compare_params(get: QueryDict) -> queries.CompareParams:
    sort = get.get("sort", "members")
    return queries.CompareParams(
        q=get.get("q", "").strip()[:100],
        kind=get.get("kind", "") if get.get("kind", "") in Kind.values else "",
        region=get.get("region", "")[:100],
        phase=get.get("phase", "") if get.get("phase", "") in PHASES else "",
        compactness=get.get("compactness", "") if get.get("compactness", "") in COMPACTNESS else "",
        min_members=_int(get.get("min_members")),
        max_members=_int(get.get("max_members")),
        sort=sort if sort in queries.COMPARE_SORTS else "members",
        descending=get.get("order", "desc") != "asc",
    )


def _compare_row(a: TrustAggregate) -> dict[str, Any]:
    return {
        "id": a.partnership_id,
        "name": a.partnership.name,
        "trust_id": a.partnership.external_id,
        "kind": a.partnership.get_kind_display(),
        "members": a.members,
        "pupils": a.pupils,
        "region": a.main_region,
        "phase": PHASES.get(a.main_phase, a.main_phase),
        "ks2": a.ks2_headline,
        "ks2_year": a.ks2_headline_year,
        "ks4": a.ks4_headline,
        "ks4_year": a.ks4_headline_year,
        "compactness": COMPACTNESS.get(a.compactness, a.compactness),
        "max_pair": a.max_pair_miles,
        "las": a.n_las,
        "regions": a.n_regions,
        "median_centroid": a.median_centroid_miles,
        "share_within_50": a.share_pairs_within_50,
    }


@public_read
def compare(request: HttpRequest) -> HttpResponse:
    params = _compare_params(request.GET)
    qs = queries.compare_trusts(params)
    total = qs.count()
    page = query_int(request.GET.get("page"), maximum=MAX_PAGE) or 1
    size = 50
    rows = [_compare_row(a) for a in qs[(page - 1) * size : page * size]]
    headers = []
    for key, label, numeric in COMPARE_COLUMNS:
        active = params.sort == key
        next_order = "asc" if active and params.descending else "desc"
        headers.append(
            {
                "key": key,
                "label": label,
                "numeric": numeric,
                "active": active,
                "aria": ("descending" if params.descending else "ascending") if active else "none",
                "url": "?" + _query(request.GET, sort=key, order=next_order, page=None),
            }
        )
    return render(
        request,
        "partnerships/compare.html",
        {
            "rows": rows,
            "total": total,
            "headers": headers,
            "params": params,
            "page": page,
            "pages": (total + size - 1) // size,
            "regions": queries.compare_regions(),
            "phases": PHASES,
            "compactness": COMPACTNESS,
            "kinds": Kind.choices,
            **compare_page_context(request),
            "prev_url": "?" + _query(request.GET, page=page - 1) if page > 1 else "",
            "next_url": "?" + _query(request.GET, page=page + 1) if page * size < total else "",
            "exports": {
                f: reverse("partnerships:compare-export", args=[f]) + "?" + _query(request.GET, page=None)
                for f in ("csv", "xlsx")
            },
        },
    )


COMPARE_EXPORT = [
    Column("id", "Partnership id"),
    Column("trust_id", "DfE trust id"),
    Column("name", "Trust"),
    Column("kind", "Kind"),
    Column("members", "Schools"),
    Column("pupils", "Pupils (latest census)"),
    Column("region", "Main region"),
    Column("regions", "Regions"),
    Column("las", "Local authorities"),
    Column("phase", "Main phase"),
    Column("ks2", "KS2 progress (mean of reading, writing, maths)"),
    Column("ks2_year", "KS2 year"),
    Column("ks4", "Progress 8"),
    Column("ks4_year", "KS4 year"),
    Column("compactness", "Geography"),
    Column("max_pair", "Largest distance between two members (miles)"),
    Column("median_centroid", "Median distance to centroid (miles)"),
    Column("share_within_50", "Share of member pairs within 50 miles"),
]


@public_read
def compare_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    rows = (
        _compare_row(a) for a in queries.compare_trusts(_compare_params(request.GET)).iterator(chunk_size=500)
    )
    return export_response(rows, COMPARE_EXPORT, "trusts", fmt, sheet="Trusts")


# ---------------------------------------------------------------------------------------------------------------
# A trust's page
# ---------------------------------------------------------------------------------------------------------------
RULE_TABLES = {"performance": "in_trust", "three-years": "three_years", "before-joining": "before_joining"}


def _perf_rows(a: TrustAggregate | None, rule: str = "in_trust") -> list[dict[str, Any]]:
    """Stored member-weighted rows of one attribution rule (partnerships/attribution.py), labelled."""
    if a is None:
        return []
    stored = a.performance if rule == "in_trust" else (a.attribution or {}).get(rule, [])
    rows = []
    for p in sorted(stored, key=lambda r: (r["key_stage"], r["measure"], r["year"])):
        m = MEASURES.get(p["measure"])
        rows.append(
            {
                **p,
                "rule": rule,
                "label": m.label if m else p["measure"],
                "academic_year": academic_year_label(p["year"]),
                "by_roll": (p.get("weights") or {}).get("roll", 0),
                "by_predecessor": (p.get("weights") or {}).get("predecessor", 0),
            }
        )
    return rows


def _membership_state(m: Membership, today: dt.date) -> str:
    """A membership in words: current, joining on a date (future-dated), leaving on a date, or left."""
    if m.joined is not None and m.joined > today:
        return f"Joining on {m.joined:%-d %B %Y}"
    if m.left is not None and m.left <= today:
        return f"Left on {m.left:%-d %B %Y}"
    if m.left is not None:
        return f"Current member, leaving on {m.left:%-d %B %Y}"
    return "Current member"


def member_table(p: Partnership, a: TrustAggregate | None, today: dt.date) -> dict[str, Any]:
    """The members table: current members (counted in the header), future-dated ones (not counted until their
    date) and former ones; with each member's "in this trust since" date and pupils from the stored figures."""
    stored = {r["urn"]: r for r in (a.member_rows if a else [])}
    rows: dict[str, list[dict[str, Any]]] = {"current": [], "upcoming": [], "past": []}
    for m in queries.trust_members(p):
        state = _membership_state(m, today)
        group = (
            "upcoming" if state.startswith("Joining") else "past" if state.startswith("Left") else "current"
        )
        r = stored.get(m.school_id, {})
        rows[group].append(
            {
                "m": m,
                "state": state,
                "pupils": r.get("pupils"),
                "since": dt.date.fromisoformat(r["since"]) if r.get("since") else None,
                "since_basis": r.get("since_basis", ""),
            }
        )
    return rows


MEMBER_COLUMNS = [
    Column("urn", "URN"),
    Column("name", "School"),
    Column("phase", "Phase"),
    Column("type", "Establishment type"),
    Column("la", "Local authority"),
    Column("region", "Region"),
    Column("pupils", "Pupils (latest census)"),
    Column("since", "In this trust since"),
    Column("since_basis", "Since date from"),
    Column("source", "Record source (blank: register; mat-files: the MAT files)"),
    Column("ofsted", "Latest Ofsted rating"),
    Column("miles_to_centroid", "Miles to the trust's centre"),
    Column("ks2_results_urn", "URN holding KS2 results (latest year)"),
    Column("ks4_results_urn", "URN holding KS4 results (latest year)"),
    Column("lat", "Latitude"),
    Column("lon", "Longitude"),
]
PERF_COLUMNS = [
    Column("rule", "Attribution (in_trust, three_years, before_joining)"),
    Column("key_stage", "Key stage"),
    Column("measure", "Measure code"),
    Column("label", "Measure"),
    Column("year", "Year (academic year ends)"),
    Column("academic_year", "Academic year"),
    Column("mean", "Pupil-weighted mean"),
    Column("se", "Standard error"),
    Column("low", "95% CI low"),
    Column("high", "95% CI high"),
    Column("boot_low", "Bootstrap 95% interval low (over schools)"),
    Column("boot_high", "Bootstrap 95% interval high (over schools)"),
    Column("schools", "Schools"),
    Column("pupils", "Pupils"),
    Column("by_predecessor", "Values weighted by a predecessor's cohort"),
    Column("by_roll", "Values weighted by census roll"),
]


DFE_COLUMNS = [
    Column("measure", "Measure (KS prefix + DfE field)"),
    Column("year", "Year (academic year ends)"),
    Column("value", "Value"),
    Column("note", "Code"),
    Column("source", "Source"),
]


def _trust_or_404(pk: int) -> tuple[Partnership, TrustAggregate | None]:
    p = get_object_or_404(Partnership, pk=pk)
    return p, queries.trust_aggregate(p)


@public_read
def trust(request: HttpRequest, pk: int) -> HttpResponse:
    p, a = _trust_or_404(pk)
    today = timezone.localdate()
    table = member_table(p, a, today)
    current = table["current"]
    stored_urns = {r["urn"] for r in a.member_rows} if a else set()
    perf = _perf_rows(a)
    user_schools = schools_of(request.user) if request.user.is_authenticated else []
    return render(
        request,
        "partnerships/trust.html",
        {
            "p": p,
            "a": a,
            "current": current,
            "upcoming": table["upcoming"],
            "past": table["past"],
            "perf": perf,
            **trust_page_context(p),
            "perf_three": _perf_rows(a, "three_years"),
            "perf_before": _perf_rows(a, "before_joining"),
            "attribution": (a.attribution or {}) if a else {},
            "stale": [r for r in current if r["m"].school_id not in stored_urns] if a else [],
            "compactness": COMPACTNESS.get(a.compactness, "") if a else "",
            "phase_labels": PHASES,
            "can_join": bool(user_schools) and p.kind == Kind.MAT,
            "map_points": [r for r in (a.member_rows if a else []) if r.get("lat") is not None],
            "exports": {
                t.replace("-", "_"): {
                    f: reverse("partnerships:trust-export", args=[pk, t, f]) for f in ("csv", "xlsx")
                }
                for t in ("members", "performance", "three-years", "before-joining", "dfe")
            },
            "boot_draws": attr.BOOT_DRAWS,
            "thresholds": {
                "compact_pair": agg.COMPACT_MAX_PAIR,
                "compact_las": agg.COMPACT_MAX_LAS,
                "regional_pair": agg.REGIONAL_MAX_PAIR,
            },
        },
    )


@public_read
def trust_export(request: HttpRequest, pk: int, table: str, fmt: str) -> HttpResponse | StreamingHttpResponse:
    p, a = _trust_or_404(pk)
    if table == "members":
        return export_response(
            a.member_rows if a else [], MEMBER_COLUMNS, f"trust-{pk}-members", fmt, sheet="Members"
        )
    if table in RULE_TABLES:
        return export_response(
            _perf_rows(a, RULE_TABLES[table]), PERF_COLUMNS, f"trust-{pk}-{table}", fmt, sheet="Results"
        )
    if table == "dfe":
        rows = [
            {"measure": r.measure, "year": r.year, "value": r.value, "note": r.note, "source": r.source}
            for r in queries.trust_results(p)
        ]
        return export_response(rows, DFE_COLUMNS, f"trust-{pk}-dfe-measures", fmt, sheet="DfE measures")
    raise Http404("No such table")


MAPPING_COLUMNS = [
    Column("key_stage", "Key stage"),
    Column("year", "Year (academic year ends)"),
    Column("members", "Academies in the MAT file"),
    Column("direct", "Found directly"),
    Column("link", "Through 1 link"),
    Column("chain", "Through a chain"),
    Column("found", "Found in total"),
    Column("found_pct", "% found"),
    Column("none", "Not found"),
    Column("not_in_register", "Not in the register"),
    Column("basis", "Member list"),
]


@public_read
def mapping(request: HttpRequest) -> HttpResponse:
    report = queries.mapping_report()
    for r in report:
        r["academic_year"] = academic_year_label(r["year"])
    return render(
        request,
        "partnerships/mapping.html",
        {
            "report": report,
            "exports": {f: reverse("partnerships:mapping-export", args=[f]) for f in ("csv", "xlsx")},
        },
    )


@public_read
def mapping_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    return export_response(queries.mapping_report(), MAPPING_COLUMNS, "member-mapping", fmt, sheet="Mapping")


@public_read
def methodology(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "partnerships/methodology.html",
        {
            "boot_draws": attr.BOOT_DRAWS,
            "sigma": agg.SIGMA,
            "measures": agg.KS_MEASURES,
            "thresholds": {
                "compact_pair": agg.COMPACT_MAX_PAIR,
                "compact_las": agg.COMPACT_MAX_LAS,
                "regional_pair": agg.REGIONAL_MAX_PAIR,
            },
        },
    )


@public_read
def sponsors(request: HttpRequest) -> HttpResponse:
    rows = [{"p": s, "schools": queries.current_schools(s)} for s in queries.sponsors()]
    designations = queries.designations(kind="sponsor")
    return render(request, "partnerships/sponsors.html", {"rows": rows, "designations": designations})
