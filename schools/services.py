"""Read services for the school register: search and the data behind a school page.

Views and the API only validate input, call these functions and render.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from partnerships.models import Membership
from schools.measures import MEASURES
from schools.models import CensusRecord, Inspection, NationalAverage, Result, School, SchoolLink

FULL_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})$")
POSTCODE_DISTRICT = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")

SORTS = {
    "name": "name",
    "urn": "urn",
    "town": "town",
    "la": "la_name",
    "region": "region_name",
    "phase": "phase",
    "type": "establishment_type",
    "status": "status",
    "ofsted": "ofsted_rating",
    "ofsted_date": "ofsted_date",
    "pupils": "pupils",
}


@dataclass
class SearchParams:
    q: str = ""
    phase: str = ""
    establishment_type: str = ""
    type_group: str = ""
    status: str = ""
    ofsted: str = ""
    trust: int | None = None
    la: str = ""
    region: str = ""
    sort: str = "name"
    descending: bool = False
    page: int = 1
    page_size: int = 50
    measures: list[tuple[str, int]] = field(default_factory=list)  # (measure code, year) columns to show


def normalise_postcode(text: str) -> str:
    m = FULL_POSTCODE.match(text.strip().upper())
    return f"{m.group(1)} {m.group(2)}" if m else text.strip().upper()


def query_filter(q: str) -> Q:
    """Interpret a free-text query the way the DfE performance tables do."""
    text = q.strip()
    if not text:
        return Q()
    upper = text.upper()
    if text.isdigit():
        number = int(text)
        if len(text) == 7:
            return Q(laestab=number) | Q(urn=number)
        return Q(urn=number) | Q(la_code=number) if len(text) == 3 else Q(urn=number)
    if FULL_POSTCODE.match(upper):
        return Q(postcode=normalise_postcode(upper))
    if POSTCODE_DISTRICT.match(upper):
        return Q(postcode_district=upper) | Q(name__icontains=text) | Q(town__iexact=text)
    return (
        Q(name__icontains=text)
        | Q(other_name__icontains=text)
        | Q(town__icontains=text)
        | Q(la_name__iexact=text)
        | Q(region_name__iexact=text)
    )


def search_schools(params: SearchParams) -> tuple[QuerySet[School], int]:
    """Filter, annotate and sort schools; returns (page of schools, total count)."""
    qs = School.objects.filter(query_filter(params.q))
    if params.phase:
        qs = qs.filter(phase=params.phase)
    if params.establishment_type:
        qs = qs.filter(establishment_type=params.establishment_type)
    if params.type_group:
        qs = qs.filter(type_group=params.type_group)
    if params.status:
        qs = qs.filter(status=params.status)
    if params.ofsted:
        qs = qs.filter(ofsted_rating=params.ofsted)
    if params.trust:
        qs = qs.filter(memberships__partnership_id=params.trust, memberships__left__isnull=True)
    if params.la:
        qs = qs.filter(la_name__iexact=params.la) if not params.la.isdigit() else qs.filter(la_code=int(params.la))
    if params.region:
        qs = qs.filter(region_name__iexact=params.region)
    total = qs.count()

    latest_census = CensusRecord.objects.filter(school=OuterRef("pk")).order_by("-year")
    qs = qs.annotate(pupils=Subquery(latest_census.values("nor")[:1]))
    for code, year in params.measures:
        if code in MEASURES:
            sub = Result.objects.filter(school=OuterRef("pk"), measure=code, year=year).values("value")[:1]
            qs = qs.annotate(**{f"m_{code}_{year}": Subquery(sub)})

    sort_field = SORTS.get(params.sort)
    if sort_field is None and params.sort.startswith("m_"):
        sort_field = params.sort if any(params.sort == f"m_{c}_{y}" for c, y in params.measures) else None
    sort_field = sort_field or "name"
    order = F(sort_field).desc(nulls_last=True) if params.descending else F(sort_field).asc(nulls_last=True)
    qs = qs.order_by(order, "urn")
    start = max(params.page - 1, 0) * params.page_size
    return qs[start : start + params.page_size], total


# --- Read services behind the school detail (page and API) -------------------------------------------------

CENSUS_FIELDS = [
    "school_type", "nor", "nor_girls", "nor_boys", "pct_girls", "pct_boys", "sen_ehcp", "pct_sen_ehcp",
    "sen_support", "pct_sen_support", "eal", "english_first", "language_unclassified", "pct_eal",
    "pct_english_first", "pct_language_unclassified", "fsm", "fsm_ever", "nor_fsm_ever", "pct_fsm_ever", "source",
]


def _measure_order(code: str) -> int:
    try:
        return list(MEASURES).index(code)
    except ValueError:
        return len(MEASURES)


def result_rows(urn: int, year: int | None = None, key_stage: int | None = None) -> list[dict[str, Any]]:
    """One row per stored result of a school (year, measure, label, value, note, text, national), sorted by
    year then catalogue order. Suppressed values stay None with their code in `note` (never 0)."""
    qs = Result.objects.filter(school_id=urn)
    if year is not None:
        qs = qs.filter(year=year)
    if key_stage is not None:
        qs = qs.filter(measure__in=[c for c, m in MEASURES.items() if m.key_stage == key_stage])
    rows = list(qs.values("year", "measure", "value", "note", "text"))
    if not rows:
        return []
    years = {r["year"] for r in rows}
    codes = {r["measure"] for r in rows}
    national = {
        (n["year"], n["measure"]): n["value"]
        for n in NationalAverage.objects.filter(year__in=years, measure__in=codes).values("year", "measure", "value")
    }
    out: list[dict[str, Any]] = []
    for r in rows:
        measure = MEASURES.get(r["measure"])
        nat = national.get((r["year"], r["measure"]))
        if nat is None and measure is not None and measure.national_zero:
            nat = 0.0
        out.append(
            {
                "year": r["year"],
                "measure": r["measure"],
                "label": measure.label if measure else r["measure"],
                "key_stage": measure.key_stage if measure else None,
                "value": r["value"],
                "note": r["note"],
                "text": r["text"],
                "national": nat,
            }
        )
    out.sort(key=lambda r: (r["year"], _measure_order(r["measure"])))
    return out


def results_by_year(
    urn: int, year: int | None = None, key_stage: int | None = None
) -> dict[int, dict[str, dict[str, Any]]]:
    """{year: {measure: {"value", "note", "text", "national"}}} in year and catalogue order."""
    by_year: dict[int, dict[str, dict[str, Any]]] = {}
    for r in result_rows(urn, year=year, key_stage=key_stage):
        by_year.setdefault(r["year"], {})[r["measure"]] = {
            "value": r["value"],
            "note": r["note"],
            "text": r["text"],
            "national": r["national"],
        }
    return by_year


def school_links(urn: int) -> dict[str, list[dict[str, Any]]]:
    """GIAS predecessor/successor links of a school, split by direction; `in_register` tells whether the linked
    URN is a school we hold (links may point at establishments outside the register)."""
    links: list[dict[str, Any]] = [
        dict(lk)
        for lk in SchoolLink.objects.filter(urn=urn)
        .order_by("established", "link_urn")
        .values("link_urn", "link_name", "link_type", "established", "source")
    ]
    known = set(School.objects.filter(urn__in=[lk["link_urn"] for lk in links]).values_list("urn", flat=True))
    out: dict[str, list[dict[str, Any]]] = {"predecessors": [], "successors": [], "other": []}
    for lk in links:
        lk["in_register"] = lk["link_urn"] in known
        kind = str(lk["link_type"]).lower()
        key = "predecessors" if kind.startswith("predecessor") else "successors" if kind.startswith("successor") else "other"
        out[key].append(lk)
    return out


@dataclass
class SchoolDetail:
    school: School
    inspections: list[dict[str, Any]]  # newest first
    census: dict[int, dict[str, Any]]  # by year
    memberships: list[dict[str, Any]]  # current first
    links: dict[str, list[dict[str, Any]]]  # predecessors / successors / other
    results: dict[int, dict[str, dict[str, Any]]]  # see results_by_year


def school_detail(urn: int) -> SchoolDetail | None:
    """Everything known about one school as plain data (None if the URN is not in the register): the School,
    its inspections (newest first), census by year, trust memberships, links and results by year."""
    school = School.objects.filter(urn=urn).first()
    if school is None:
        return None
    inspections: list[dict[str, Any]] = [
        dict(i) for i in Inspection.objects.filter(school_id=urn).order_by("-date").values("date", "rating", "source")
    ]
    census = {
        c["year"]: {k: c[k] for k in CENSUS_FIELDS}
        for c in CensusRecord.objects.filter(school_id=urn).order_by("year").values("year", *CENSUS_FIELDS)
    }
    memberships = [
        {
            "partnership_id": m["partnership_id"],
            "name": m["partnership__name"],
            "kind": m["partnership__kind"],
            "external_id": m["partnership__external_id"],
            "joined": m["joined"],
            "left": m["left"],
            "current": m["left"] is None,
            "source": m["source"],
        }
        for m in Membership.objects.filter(school_id=urn)
        .order_by("left", "-joined")
        .values(
            "partnership_id", "partnership__name", "partnership__kind", "partnership__external_id",
            "joined", "left", "source",
        )
    ]
    return SchoolDetail(
        school=school,
        inspections=inspections,
        census=census,
        memberships=memberships,
        links=school_links(urn),
        results=results_by_year(urn),
    )
