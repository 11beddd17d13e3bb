"""Read services for the school register: search and the data behind a school page.

Views and the API only validate input, call these functions and render.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db.models import F, OuterRef, QuerySet, Subquery
from django.db.models import Q

from schools.measures import MEASURES
from schools.models import CensusRecord, Result, School

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
