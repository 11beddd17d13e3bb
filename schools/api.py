"""Public, read-only JSON API over the school register (mounted at /api/schools and /api/measures).

Operations only validate input, call schools.queries and shape the answer. Every operation declares its
access policy (`operation(PUBLIC_READ, ...)`, checked by schools/tests/test_api_access.py); errors are raised
as domain errors and answered as problem bodies by schoolpartners/apikit.py.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from schoolpartners.access import PUBLIC_READ
from schoolpartners.apikit import Rows, operation, paginated
from schoolpartners.errors import Invalid, NotFound
from schoolpartners.params import Id, OptionalId
from schools import queries
from schools.measures import HEADLINE, MEASURES, academic_year_label
from schools.models import School
from schools.schemas import (
    MeasureOut,
    ResultList,
    SchoolDetail,
    SchoolSearchQuery,
    SchoolSummary,
)

router = Router(tags=["schools"])
measures_router = Router(tags=["measures"])


@router.get(
    "",
    **operation(
        PUBLIC_READ,
        list[SchoolSummary],
        summary="Search schools",
        description="Search the national register with the same service and rules as the search page: free "
        "text `q` (name, town, URN, LAESTAB, LA code, postcode or postcode district) and exact filters. "
        "Returns the total `count` and one page of results.",
    ),
)
@paginated(page_size=50, max_page_size=200)
def list_schools(request: HttpRequest, filters: Query[SchoolSearchQuery]) -> Rows:
    params = queries.SearchParams(
        q=filters.q,
        phase=filters.phase.value if filters.phase else "",
        establishment_type=filters.establishment_type,
        status=filters.status.value if filters.status else "",
        ofsted=filters.ofsted,
        trust=filters.trust,
        la=filters.la.strip(),
        region=filters.region.strip(),
        sort=filters.sort,
        descending=filters.order == "desc",
    )
    return Rows(fetch=lambda page, size: queries.search_page(replace(params, page=page, page_size=size)))


@router.get(
    "/{urn}",
    **operation(
        PUBLIC_READ,
        SchoolDetail,
        summary="One school",
        description="Identity, address, coordinates (with their source), latest Ofsted judgement and "
        "inspection history, census by year, trust memberships, predecessor/successor links and results by "
        "year. Suppressed results have `value` null and the code in `note`.",
        problems=(404,),
    ),
)
def school_detail(request: HttpRequest, urn: Id) -> dict[str, Any]:
    detail = queries.school_detail(urn)
    if detail is None:
        raise NotFound(f"No school with URN {urn}")
    school = detail.school
    out: dict[str, Any] = {
        f: getattr(school, f)
        for f in (
            "urn",
            "name",
            "other_name",
            "la_code",
            "estab",
            "laestab",
            "la_name",
            "region_name",
            "telephone",
            "status",
            "open_date",
            "close_date",
            "establishment_type",
            "type_group",
            "minor_group",
            "phase",
            "age_low",
            "age_high",
            "gender",
            "religious_character",
            "admissions_policy",
            "register_source",
            "register_as_of",
        )
    }
    out["address"] = {
        f: getattr(school, f)
        for f in ("street", "locality", "address3", "town", "postcode", "postcode_district")
    }
    has_coords = school.latitude is not None and school.longitude is not None
    out["coordinates"] = (
        {
            "latitude": school.latitude,
            "longitude": school.longitude,
            "source": school.coord_source,
            "as_of": school.coord_as_of,
        }
        if has_coords
        else None
    )
    inspections = detail.inspections
    if school.ofsted_rating:
        out["ofsted"] = {"rating": school.ofsted_rating, "date": school.ofsted_date}
    elif inspections:
        out["ofsted"] = {"rating": inspections[0]["rating"], "date": inspections[0]["date"]}
    else:
        out["ofsted"] = None
    out["inspections"] = inspections
    out["census"] = {str(y): c for y, c in detail.census.items()}
    out["memberships"] = detail.memberships
    out["links"] = detail.links
    out["results"] = {str(y): r for y, r in detail.results.items()}
    return out


@router.get(
    "/{urn}/results",
    **operation(
        PUBLIC_READ,
        ResultList,
        summary="Results of one school",
        description="Published performance results of one school as long rows (year, measure, label, value, "
        "note, text, national), optionally for one `year` (the year the academic year ends: 2019 = 2018/19) "
        "and one `key_stage` (2 or 4). Suppressed values are null with their code in `note`.",
        problems=(404,),
    ),
)
def school_results(
    request: HttpRequest, urn: Id, year: OptionalId = None, key_stage: OptionalId = None
) -> dict[str, Any]:
    if key_stage is not None and key_stage not in (2, 4):
        raise Invalid("key_stage must be 2 or 4", field="key_stage", loc=("query",))
    if year is not None and not 1990 <= year <= 2100:
        raise Invalid(
            "year must be the year the academic year ends, e.g. 2019 for 2018/19",
            field="year",
            loc=("query",),
        )
    if not School.objects.filter(urn=urn).exists():
        raise NotFound(f"No school with URN {urn}")
    rows = queries.result_rows(urn, year=year, key_stage=key_stage)
    for r in rows:
        r["academic_year"] = academic_year_label(r["year"])
    return {"urn": urn, "count": len(rows), "results": rows}


@measures_router.get(
    "",
    **operation(
        PUBLIC_READ,
        list[MeasureOut],
        summary="Measure catalogue",
        description="Every performance measure School Partners stores: DfE code, label, key stage, unit, "
        "whether higher is better, whether the national figure is 0 by construction, and whether it is a "
        "headline measure.",
    ),
)
def list_measures(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "code": m.code,
            "label": m.label,
            "key_stage": m.key_stage,
            "unit": m.unit.value,
            "higher_is_better": m.higher_is_better,
            "national_zero": m.national_zero,
            "weight_by": m.weight_by,
            "headline": m.code in HEADLINE.get(m.key_stage, []),
            "description": m.description,
        }
        for m in MEASURES.values()
    ]
