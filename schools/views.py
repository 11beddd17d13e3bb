"""Pages for the school register: home, search (with exports), the school page (with exports), import runs.

Views only validate input, read through `schools.queries` and render. Panels from higher domains (similar
schools, partnerships, evaluation) come from the registry in `schools/panels.py`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.conf import settings
from django.contrib.humanize.templatetags.humanize import intcomma
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from schoolpartners import exportcache
from schoolpartners.access import public_read, staff_only
from schoolpartners.exports import Column, export_response
from schoolpartners.pagecache import cache_public_page, data_version
from schoolpartners.ratelimit import limit_expensive
from schools.forms import SearchForm
from schools.measures import MEASURES, academic_year_label
from schools.models import ImportRun, Phase, School, Status
from schools.panels import panel_context
from schools.queries import (
    SchoolPage,
    SearchParams,
    filter_schools,
    find_trusts,
    get_trust,
    school_page,
    search_all,
    search_page,
)
from schools.results import format_measure
from schools.tasks import build_search_export

PHASES = dict(Phase.choices)
STATUSES = dict(Status.choices)

# Sortable, always-shown columns of the results table: (sort key, heading, numeric).
BASE_COLUMNS = [
    ("name", "School", False),
    ("la", "Local authority", False),
    ("type", "Type", False),
    ("phase", "Phase", False),
    ("ofsted", "Ofsted rating", False),
    ("pupils", "Pupils", True),
]


@public_read
@cache_public_page
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "schools/home.html")


def _query(get: QueryDict, **changes: Any) -> str:
    """The current query string with some parameters replaced (None removes one)."""
    query = get.copy()
    for key, value in changes.items():
        if value is None or value == "":
            query.pop(key, None)
        else:
            query[key] = str(value)
    return query.urlencode()


SHORT_LABELS = {
    "PTRWM_EXP": "% expected standard RWM",
    "PTRWM_HIGH": "% higher standard RWM",
    "READPROG": "Reading progress",
    "WRITPROG": "Writing progress",
    "MATPROG": "Maths progress",
    "P8MEA": "Progress 8",
    "ATT8SCR": "Attainment 8",
    "PTL2BASICS_95": "% grade 5+ English and maths",
    "PTL2BASICS_94": "% grade 4+ English and maths",
}


def _measure_heading(code: str, year: int, short: bool = False) -> str:
    label = SHORT_LABELS.get(code, MEASURES[code].label) if short else MEASURES[code].label
    return f"{label} ({academic_year_label(year)})"


def _pages(current: int, last: int) -> list[int | None]:
    """Page numbers for the GOV.UK pagination component; None stands for an ellipsis."""
    wanted = {1, last, current - 1, current, current + 1}
    numbers = sorted(n for n in wanted if 1 <= n <= last)
    out: list[int | None] = []
    for n in numbers:
        if out and n - (out[-1] or 0) > 1:
            out.append(None)
        out.append(n)
    return out


def _headers(get: QueryDict, params: SearchParams) -> list[dict[str, Any]]:
    columns = [
        *BASE_COLUMNS,
        *((f"m_{c}_{y}", _measure_heading(c, y, short=True), True) for c, y in params.measures),
    ]
    headers = []
    for key, label, numeric in columns:
        current = params.sort == key
        descending_next = current and not params.descending
        headers.append(
            {
                "key": key,
                "label": label,
                "numeric": numeric,
                "aria_sort": ("descending" if params.descending else "ascending") if current else "none",
                "url": "?" + _query(get, sort=key, order="desc" if descending_next else "asc", page=None),
            }
        )
    return headers


def search_rows_html(rows: list[dict[str, Any]]) -> SafeString:
    """The search results' table rows, built in Python: the same markup the template loop gave, at a fraction
    of the cost of 50 rows x 10 cells of template nodes (the render budget, bench/bench_render.py)."""
    detail = reverse("schools:detail", args=[0])[: -len("0/")]  # "/schools/"; every URN is an integer
    cell, num = '<td class="govuk-table__cell">', '<td class="govuk-table__cell govuk-table__cell--numeric">'
    out = []
    for row in rows:
        s = row["school"]
        tag = (
            f' <strong class="govuk-tag govuk-tag--grey">{escape(row["status"])}</strong>'
            if s.status and s.status != "open"
            else ""
        )
        where = "".join(f", {escape(v)}" for v in (s.town, s.postcode) if v)
        pupils = intcomma(s.pupils) if s.pupils is not None else ""
        measures = "".join(f"{num}{escape(m)}</td>" for m in row["measures"])
        out.append(
            f'<tr class="govuk-table__row">{cell}<a class="govuk-link" href="{detail}{int(s.urn)}/">'
            f'{escape(s.name)}</a>{tag}<br><span class="govuk-body-s sp-muted">URN {int(s.urn)}{where}</span></td>'
            f"{cell}{escape(s.la_name)}</td>{cell}{escape(s.establishment_type)}</td>{cell}{escape(row['phase'])}"
            f"</td>{cell}{escape(s.ofsted_rating)}</td>{num}{pupils}</td>{measures}</tr>"
        )
    return mark_safe("\n".join(out))  # noqa: S308 - every value is escaped above


@public_read
@cache_public_page
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    params = form.params()
    trust = get_trust(params.trust)
    trust_name = (form.value("trust_name") or "").strip() if form.is_bound else ""
    trust_matches = []
    if trust_name and not trust:
        trust_matches = find_trusts(trust_name)
        if len(trust_matches) == 1:
            trust = trust_matches[0]
            params.trust = trust.pk
    schools, total = search_page(params)
    last_page = max((total + params.page_size - 1) // params.page_size, 1)
    rows = [
        {
            "school": s,
            "phase": PHASES.get(s.phase, ""),
            "status": STATUSES.get(s.status, ""),
            "measures": [
                format_measure(code, getattr(s, f"m_{code}_{year}", None)) for code, year in params.measures
            ],
        }
        for s in schools
    ]
    export_query = _query(request.GET, page=None, trust=params.trust, trust_name=None)
    context = {
        "form": form,
        "has_visible_errors": any(f.errors for f in form.visible_fields()) if form.is_bound else False,
        "params": params,
        "rows": rows,
        "rows_html": search_rows_html(rows),
        "total": total,
        "headers": _headers(request.GET, params),
        "trust": trust,
        "trust_name": trust_name,
        "trust_matches": [
            {"name": t.name, "url": "?" + _query(request.GET, trust=t.pk, trust_name=None, page=None)}
            for t in trust_matches
        ]
        if len(trust_matches) != 1
        else [],
        "remove_trust_url": "?" + _query(request.GET, trust=None, trust_name=None, page=None),
        "page": params.page,
        "last_page": last_page,
        "pages": [
            {"number": n, "url": "?" + _query(request.GET, page=n)} if n else None
            for n in _pages(params.page, last_page)
        ],
        "prev_url": "?" + _query(request.GET, page=params.page - 1) if params.page > 1 else "",
        "next_url": "?" + _query(request.GET, page=params.page + 1) if params.page < last_page else "",
        "first_shown": (params.page - 1) * params.page_size + 1 if schools else 0,
        "last_shown": (params.page - 1) * params.page_size + len(schools),
        "csv_url": reverse("schools:search-export", args=["csv"])
        + ("?" + export_query if export_query else ""),
        "xlsx_url": reverse("schools:search-export", args=["xlsx"])
        + ("?" + export_query if export_query else ""),
        "trust_search_url": reverse("schools:search"),
    }
    return render(request, "schools/search.html", context)


SEARCH_EXPORT_FIELDS = [
    Column("urn", "URN"),
    Column("laestab", "LAESTAB"),
    Column("name", "School name"),
    Column("town", "Town"),
    Column("postcode", "Postcode"),
    Column("la_name", "Local authority"),
    Column("region_name", "Region"),
    Column("establishment_type", "Establishment type"),
    Column("phase", "Phase", get=lambda r: PHASES.get(r["phase"], r["phase"])),
    Column("status", "Status", get=lambda r: STATUSES.get(r["status"], r["status"])),
    Column("ofsted_rating", "Ofsted rating"),
    Column("ofsted_date", "Ofsted inspection date"),
    Column("pupils", "Pupils (latest census)"),
]


def search_export_spec(params: SearchParams) -> tuple[list[Column], list[str]]:
    """The export's columns and the fields read for them (the measure columns follow the search's phase)."""
    measure_keys = [f"m_{c}_{y}" for c, y in params.measures]
    columns = SEARCH_EXPORT_FIELDS + [
        Column(key, _measure_heading(c, y)) for key, (c, y) in zip(measure_keys, params.measures, strict=True)
    ]
    return columns, [c.key for c in SEARCH_EXPORT_FIELDS] + measure_keys


def search_export_key(params: SearchParams) -> str:
    """The search's normalised parameters (junk in the query string cannot make a new file)."""
    return repr(dataclasses.replace(params, page=1, page_size=0))


@public_read
@limit_expensive
def search_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse | FileResponse:
    """Every school of a search (all pages, same filters and order) as CSV or XLSX. Up to EXPORT_ROW_BUDGET rows
    are built in the request; a larger one (the whole register) is a file built once per data version by the job
    worker (schoolpartners.exportcache) while the page says it is being prepared."""
    form = SearchForm(request.GET or None)
    params = form.params()
    columns, fields = search_export_spec(params)
    rows = filter_schools(params).count()  # reads the database before any answer starts: 503 when it is down
    if rows <= settings.EXPORT_ROW_BUDGET:
        data = list(search_all(params).values(*fields))
        return export_response(data, columns, "schools", fmt, sheet="Schools")
    version = data_version()
    path = exportcache.path_for("schools", fmt, search_export_key(params), version)
    query = request.GET.urlencode()
    return exportcache.serve_large(
        request,
        path=path,
        name="schools",
        fmt=fmt,
        rows=rows,
        enqueue=lambda: build_search_export.enqueue(query=query, fmt=fmt, version=version),
    )


def _page_or_404(urn: int) -> SchoolPage:
    data = school_page(urn)
    if data is None:
        raise Http404("No school with that URN")
    return data


def opened_from_links(predecessors: list[Any]) -> Any:
    """When the register has no opening date, the newest date GIAS links the school to a direct predecessor (an
    academy's conversion, a merger): the day the school under this URN began. None when no link is dated."""
    dated = [p for p in predecessors if p.depth == 1 and p.established]
    return max(dated, key=lambda p: p.established, default=None)


@public_read
@cache_public_page
def school_detail(request: HttpRequest, urn: int) -> HttpResponse:
    data = _page_or_404(urn)
    school = data.school
    census = data.census
    return render(
        request,
        "schools/school_detail.html",
        {
            "data": data,
            "school": school,
            "phase": PHASES.get(school.phase, ""),
            "status": STATUSES.get(school.status, ""),
            "census_years": census,
            "latest_census": census[0] if census else None,
            "opened": opened_from_links(data.predecessors) if school.open_date is None else None,
            "address": [
                line
                for line in (school.street, school.locality, school.address3, school.town, school.postcode)
                if line
            ],
            "link_groups": [
                {"id": "predecessors", "title": "Predecessor schools", "links": data.predecessors},
                {"id": "successors", "title": "Successor schools", "links": data.successors},
            ],
            "exports": {
                t: {f: reverse("schools:school-export", args=[urn, t, f]) for f in ("csv", "xlsx")}
                for t in ("results", "census", "inspections", "trusts", "links")
            },
            **panel_context(school),
        },
    )


CENSUS_COLUMNS = [
    Column("year", "Year (academic year ends)"),
    Column("academic_year", "Academic year"),
    Column("nor", "Number on roll"),
    Column("pct_fsm_ever", "% FSM ever 6"),
    Column("pct_eal", "% EAL"),
    Column("pct_sen_support", "% SEN support"),
    Column("pct_sen_ehcp", "% EHCP"),
    Column("source", "Source"),
]


def _school_table(data: SchoolPage, table: str) -> tuple[list[dict[str, Any]], list[Column]]:
    rows: list[dict[str, Any]]
    if table == "results":
        rows = [
            {
                "key_stage": t.key_stage,
                "measure": r.measure.code,
                "label": r.measure.label,
                "year": c.year,
                "academic_year": academic_year_label(c.year),
                "value": c.value,
                "text": c.text,
                "status": "" if not c.missing else c.display,
                "national": c.national,
            }
            for t in data.results
            for r in t.rows
            for c in r.cells
        ]
        columns = [
            Column("key_stage", "Key stage"),
            Column("measure", "Measure code"),
            Column("label", "Measure"),
            Column("year", "Year (academic year ends)"),
            Column("academic_year", "Academic year"),
            Column("value", "Value"),
            Column("text", "Band"),
            Column("status", "Missing or suppressed"),
            Column("national", "National average"),
        ]
        return rows, columns
    if table == "census":
        rows = [
            {
                "year": c.year,
                "academic_year": academic_year_label(c.year),
                "nor": c.nor,
                "pct_fsm_ever": c.pct_fsm_ever,
                "pct_eal": c.pct_eal,
                "pct_sen_support": c.pct_sen_support,
                "pct_sen_ehcp": c.pct_sen_ehcp,
                "source": c.source,
            }
            for c in data.census
        ]
        return rows, CENSUS_COLUMNS
    if table == "inspections":
        rows = [{"date": i.date, "rating": i.rating, "source": i.source} for i in data.inspections]
        return rows, [
            Column("date", "Inspection date"),
            Column("rating", "Overall judgement"),
            Column("source", "Source"),
        ]
    if table == "trusts":
        rows = [
            {
                "id": m.partnership_id,
                "name": m.partnership.name,
                "kind": m.partnership.get_kind_display(),
                "external_id": m.partnership.external_id,
                "joined": m.joined,
            }
            for m in data.trusts
        ]
        columns = [
            Column("id", "ID"),
            Column("name", "Trust"),
            Column("kind", "Kind"),
            Column("external_id", "DfE trust ID"),
            Column("joined", "Joined"),
        ]
        return rows, columns
    if table == "links":
        rows = [
            {
                "direction": link.direction,
                "urn": link.urn,
                "name": link.name,
                "link_type": link.link_type,
                "established": link.established,
                "via_urn": link.via_urn,
                "via_name": link.via_name,
                "depth": link.depth,
                "in_register": link.in_register,
                "result_years": " ".join(academic_year_label(y) for y in link.result_years),
            }
            for link in [*data.predecessors, *data.successors]
        ]
        columns = [
            Column("direction", "Direction"),
            Column("urn", "URN"),
            Column("name", "School name"),
            Column("link_type", "Link type"),
            Column("established", "Link date"),
            Column("via_urn", "Linked from URN"),
            Column("via_name", "Linked from"),
            Column("depth", "Steps from this school"),
            Column("in_register", "In register"),
            Column("result_years", "Years with results"),
        ]
        return rows, columns
    raise Http404("No such table")


@public_read
def school_export(
    request: HttpRequest, urn: int, table: str, fmt: str
) -> HttpResponse | StreamingHttpResponse:
    data = _page_or_404(int(urn))
    rows, columns = _school_table(data, table)
    return export_response(rows, columns, f"school-{data.school.urn}-{table}", fmt, sheet=table.capitalize())


IMPORT_COLUMNS = [
    Column("kind", "Kind"),
    Column("path", "File"),
    Column("started_at", "Started"),
    Column("finished_at", "Finished"),
    Column("ok", "Succeeded"),
    Column("rows_read", "Rows read"),
    Column("inserted", "Inserted"),
    Column("updated", "Updated"),
    Column("unchanged", "Unchanged"),
    Column("error", "Error"),
]


def _import_rows(limit: int | None = None) -> list[dict[str, Any]]:
    qs = ImportRun.objects.order_by("-started_at").values(*(c.key for c in IMPORT_COLUMNS))
    return list(qs[:limit] if limit else qs)


@staff_only
def imports(request: HttpRequest) -> HttpResponse:
    """Staff only: the latest data import runs."""
    return render(
        request,
        "schools/imports.html",
        {"runs": _import_rows(200), "school_count": School.objects.count()},
    )


@staff_only
def imports_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    return export_response(_import_rows(), IMPORT_COLUMNS, "import-runs", fmt, sheet="Imports")
