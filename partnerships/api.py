"""JSON API for partnerships (mounted at /api/partnerships in schoolpartners/api.py).

Public reads: trusts list/compare, a trust's stored aggregates and members, member mapping counts, the grant
calculator, ISSP search and designations. Recording a designation is for staff or the regional approver of the
school's region (as the web form). Requests (join, leave, form; each step) are for signed-in users acting for their own
school, trust or region: the services check the scope and refuse others with 403, changing nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from ninja.security import django_auth

from partnerships import queries, services
from partnerships.models import Activity, Designation, Partnership, PartnershipRequest, TrustAggregate
from schools.models import School

PUBLIC_READ = "Public: anyone may read; read-only."
SCOPED = (
    "Signed-in users only, acting for their own school, trust or region (checked per step; anyone else "
    "gets 403 and nothing changes)."
)

router = Router(tags=["partnerships"])


def _public(text: str) -> str:
    return f"{PUBLIC_READ}\n\n{text}"


def _scoped(text: str) -> str:
    return f"{SCOPED}\n\n{text}"


class Message(Schema):
    detail: str


class TrustRow(Schema):
    id: int
    name: str
    kind: str
    external_id: str
    members: int
    pupils: int | None
    main_region: str
    main_phase: str
    n_regions: int
    n_las: int
    ks2_headline: float | None
    ks2_headline_year: int | None
    ks4_headline: float | None
    ks4_headline_year: int | None
    compactness: str
    max_pair_miles: float | None
    median_centroid_miles: float | None
    share_pairs_within_50: float | None


class TrustPage(Schema):
    count: int
    results: list[TrustRow]


class PerformanceOut(Schema):
    key_stage: int
    year: int
    measure: str
    mean: float
    se: float | None
    low: float | None
    high: float | None
    schools: int
    pupils: int


class DfeMeasure(Schema):
    measure: str
    year: int
    value: float | None
    note: str


class TrustDetail(TrustRow):
    computed_at: dt.datetime | None
    pupils_year: int | None
    phases: dict[str, int]
    regions: dict[str, int]
    local_authorities: dict[str, int]
    ofsted: dict[str, int]
    establishment_types: dict[str, int]
    max_centroid_miles: float | None
    centroid_lat: float | None
    centroid_lon: float | None
    mapping: dict[str, dict[str, int]]
    performance: list[PerformanceOut]
    dfe_measures: list[DfeMeasure]


class MemberOut(Schema):
    urn: int
    name: str
    phase: str | None = None
    la: str | None = None
    region: str | None = None
    type: str | None = None
    ofsted: str | None = None
    pupils: int | None = None
    lat: float | None = None
    lon: float | None = None
    miles_to_centroid: float | None = None
    ks2_results_urn: int | None = None
    ks4_results_urn: int | None = None


class MappingRow(Schema):
    key_stage: int
    year: int
    members: int
    direct: int
    link: int
    chain: int
    found: int
    none: int
    not_in_register: int
    found_pct: float | None
    basis: str


class GrantLineOut(Schema):
    urn: int | None
    name: str
    pupils: int | None
    band: str
    amount: int


class GrantOut(Schema):
    per_chain: int
    lines: list[GrantLineOut]
    total: int
    small_schools: int
    medium_schools: int


class IsspSchool(Schema):
    urn: int
    name: str
    la: str


class IsspPartnershipOut(Schema):
    id: int
    name: str
    activities: list[str]
    schools: list[IsspSchool]
    miles: float | None


class IsspPostOut(Schema):
    id: int
    kind: str
    activity: str
    description: str
    school: IsspSchool
    miles: float | None


class IsspOut(Schema):
    partnerships: list[IsspPartnershipOut]
    posts: list[IsspPostOut]


class StepOut(Schema):
    step: str
    outcome: str
    note: str
    at: dt.datetime


class RequestOut(Schema):
    id: int
    kind: str
    status: str
    school_urn: int | None
    partnership_id: int | None
    new_name: str
    region: str
    effective_date: dt.date | None
    reason: str
    decline_reason: str
    result_partnership_id: int | None
    schools: list[int]
    steps: list[StepOut]


class RequestIn(Schema):
    kind: Literal["join_mat", "leave_mat", "form_federation", "form_mat"]
    school_urn: int = Field(..., description="your own school (for forming: it consents by proposing)")
    partnership_id: int | None = Field(None, description="join_mat: the trust to join")
    other_urns: list[int] = Field(default_factory=list, description="form_*: the other schools")
    name: str = Field("", description="form_*: name of the new federation or trust")
    effective_date: dt.date
    reason: str = Field("", description="required for leave_mat")


class DecisionIn(Schema):
    step: Literal["trust", "region", "school"] = Field(
        ...,
        description="trust: the trust board's consent; region: "
        "the regional director's decision; school: a school's consent",
    )
    approve: bool
    reason: str = Field("", description="required when declining")
    school_urn: int | None = Field(None, description="step school: the consenting school (yours)")


def _row(a: TrustAggregate) -> dict[str, Any]:
    p = a.partnership
    return {
        "id": p.pk,
        "name": p.name,
        "kind": p.kind,
        "external_id": p.external_id,
        "members": a.members,
        "pupils": a.pupils,
        "main_region": a.main_region,
        "main_phase": a.main_phase,
        "n_regions": a.n_regions,
        "n_las": a.n_las,
        "ks2_headline": a.ks2_headline,
        "ks2_headline_year": a.ks2_headline_year,
        "ks4_headline": a.ks4_headline,
        "ks4_headline_year": a.ks4_headline_year,
        "compactness": a.compactness,
        "max_pair_miles": a.max_pair_miles,
        "median_centroid_miles": a.median_centroid_miles,
        "share_pairs_within_50": a.share_pairs_within_50,
    }


class CompareQuery(Schema):
    q: str = ""
    kind: str = ""
    region: str = ""
    phase: str = ""
    compactness: str = ""
    min_members: int | None = None
    max_members: int | None = None
    sort: Literal[
        "name", "members", "pupils", "region", "phase", "ks2", "ks4", "compactness", "max_pair", "las"
    ] = "members"
    order: Literal["asc", "desc"] = "desc"
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=1000)


@router.get(
    "/trusts",
    response=TrustPage,
    summary="List and compare trusts",
    description=_public(
        "Stored trust aggregates, filtered (name `q`, kind, main region, main phase, compactness, size) and sorted like "
        "the Compare trusts page."
    ),
)
def list_trusts(request: HttpRequest, filters: Query[CompareQuery]) -> dict[str, Any]:
    params = queries.CompareParams(
        q=filters.q,
        kind=filters.kind,
        region=filters.region,
        phase=filters.phase,
        compactness=filters.compactness,
        min_members=filters.min_members,
        max_members=filters.max_members,
        sort=filters.sort,
        descending=filters.order == "desc",
    )
    qs = queries.compare_trusts(params)
    start = (filters.page - 1) * filters.page_size
    return {"count": qs.count(), "results": [_row(a) for a in qs[start : start + filters.page_size]]}


def _aggregate_or_404(trust_id: int) -> TrustAggregate:
    a = queries.trust_figures(trust_id)
    if a is None:
        raise HttpError(404, "No stored figures for that partnership")
    return a


@router.get(
    "/trusts/{int:trust_id}",
    response={200: TrustDetail, 404: Message},
    summary="A trust with its aggregates",
    description=_public(
        "Stored aggregates of one partnership: size, phases, regions, local authorities, Ofsted "
        "profile, establishment types, geography, pupil-weighted results by year with 95% "
        "confidence intervals, and the DfE trust-level measures."
    ),
)
def trust_detail(request: HttpRequest, trust_id: int) -> dict[str, Any]:
    a = _aggregate_or_404(trust_id)
    return {
        **_row(a),
        "computed_at": a.computed_at,
        "pupils_year": a.pupils_year,
        "phases": a.phases,
        "regions": a.regions,
        "local_authorities": a.las,
        "ofsted": a.ofsted,
        "establishment_types": a.establishment_types,
        "max_centroid_miles": a.max_centroid_miles,
        "centroid_lat": a.centroid_lat,
        "centroid_lon": a.centroid_lon,
        "mapping": a.mapping,
        "performance": a.performance,
        "dfe_measures": [
            {"measure": r.measure, "year": r.year, "value": r.value, "note": r.note}
            for r in queries.trust_results(a.partnership)
        ],
    }


@router.get(
    "/trusts/{int:trust_id}/members",
    response={200: list[MemberOut], 404: Message},
    summary="A trust's members",
    description=_public(
        "Current members as stored with the aggregates: location, distance to the trust's "
        "centre and the URNs whose KS2/KS4 results (latest year held) stand for each school."
    ),
)
def trust_members(request: HttpRequest, trust_id: int) -> list[dict[str, Any]]:
    return _aggregate_or_404(trust_id).member_rows


@router.get(
    "/mapping",
    response=list[MappingRow],
    summary="Trust academies matched to results",
    description=_public(
        "Per key stage and year: academies in the MAT file matched to results directly, "
        "through one predecessor link, a chain, or not at all."
    ),
)
def mapping(request: HttpRequest) -> list[dict[str, Any]]:
    return queries.mapping_report()


class GrantQuery(Schema):
    urns: str = Field(
        "",
        description="comma-separated URNs of the primary schools forming or joining the chain "
        "(none: the per-chain amount alone)",
    )


@router.get(
    "/grant",
    response={200: GrantOut, 400: Message},
    summary="Chain grant calculator",
    description=_public(
        "Grant for primary schools forming or joining a chain: a fixed amount per chain plus "
        "amounts per school under 100 and 100-210 pupils (latest census); amounts come from "
        "settings GRANT_PER_CHAIN, GRANT_PER_SMALL_SCHOOL, GRANT_PER_MEDIUM_SCHOOL."
    ),
)
def grant(request: HttpRequest, query: Query[GrantQuery]) -> Any:
    parts = [p for p in query.urns.replace(",", " ").split() if p]
    if not all(p.isdigit() for p in parts):
        return 400, {"detail": "urns must be comma-separated numbers"}
    g = queries.grant_for([int(p) for p in parts][:100])
    return {
        "per_chain": g.per_chain,
        "lines": [line.__dict__ for line in g.lines],
        "total": g.total,
        "small_schools": g.small_schools,
        "medium_schools": g.medium_schools,
    }


class IsspQuery(Schema):
    activity: Literal[
        "", "subject", "exams", "governance", "teacher_training", "sport", "arts", "university", "other"
    ] = ""
    la: str = ""
    region: str = ""
    postcode: str = ""
    urn: int | None = None
    miles: float | None = Field(None, ge=0, le=500)


def _issp_school(s: Any) -> dict[str, Any]:
    return {"urn": s.urn, "name": s.name, "la": s.la_name}


@router.get(
    "/issp",
    response=IsspOut,
    summary="Search ISSPs and offers",
    description=_public(
        "Independent-state school partnerships and open offers/requests, by activity, local authority, region and "
        "distance (miles) from a postcode or a school."
    ),
)
def issp(request: HttpRequest, query: Query[IsspQuery]) -> dict[str, Any]:
    point = queries.point_for(query.postcode, query.urn)
    r = queries.search_issp(
        queries.IsspSearch(
            activity=query.activity, la=query.la, region=query.region, point=point, miles=query.miles
        )
    )
    labels = dict(Activity.choices)
    return {
        "partnerships": [
            {
                "id": x["partnership"].pk,
                "name": x["partnership"].name,
                "activities": x["activities"],
                "schools": [_issp_school(s) for s in x["schools"]],
                "miles": x["miles"],
            }
            for x in r["partnerships"]
        ],
        "posts": [
            {
                "id": x["post"].pk,
                "kind": x["post"].kind,
                "activity": labels.get(x["post"].activity, x["post"].activity),
                "description": x["post"].description,
                "school": _issp_school(x["post"].school),
                "miles": x["miles"],
            }
            for x in r["posts"]
        ],
    }


# ------------------------------------------------------------------------------------------------ requests
def _request_out(req: PartnershipRequest) -> dict[str, Any]:
    return {
        "id": req.pk,
        "kind": req.kind,
        "status": req.status,
        "school_urn": req.school_id,
        "partnership_id": req.partnership_id,
        "new_name": req.new_name,
        "region": req.region,
        "effective_date": req.effective_date,
        "reason": req.reason,
        "decline_reason": req.decline_reason,
        "result_partnership_id": req.result_partnership_id,
        "schools": [rs.school_id for rs in req.schools.all()],
        "steps": [
            {"step": s.step, "outcome": s.outcome, "note": s.note, "at": s.at} for s in req.steps.all()
        ],
    }


def _run(fn: Any, *args: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    try:
        req = fn(*args, **kwargs)
    except PermissionDenied as exc:
        raise HttpError(403, str(exc) or "Not allowed") from exc
    except services.ProcedureError as exc:
        raise HttpError(409, "; ".join(exc.messages)) from exc
    except (Partnership.DoesNotExist, School.DoesNotExist) as exc:
        raise HttpError(404, "No such school or partnership") from exc
    req.refresh_from_db()
    return 200, _request_out(req)


@router.get(
    "/requests",
    response=list[RequestOut],
    summary="Your partnership requests",
    description=_scoped(
        "The requests of the caller's schools, trusts and region (staff see all). Anonymous callers get an empty list."
    ),
)
def list_requests(request: HttpRequest) -> list[dict[str, Any]]:
    if not request.user.is_authenticated:
        return []
    return [
        _request_out(r) for r in queries.requests_for(request.user).prefetch_related("schools", "steps")[:500]
    ]


@router.get(
    "/requests/{int:request_id}",
    response={200: RequestOut, 404: Message},
    summary="One request",
    description=_scoped(
        "One request with its steps; 404 unless it concerns the caller's school, trust or region."
    ),
)
def get_request(request: HttpRequest, request_id: int) -> Any:
    req = get_object_or_404(PartnershipRequest, pk=request_id)
    if not request.user.is_authenticated or not queries.can_view_request(request.user, req):
        return 404, {"detail": "Not found"}
    return _request_out(req)


@router.post(
    "/requests",
    auth=django_auth,
    response={200: RequestOut, 403: Message, 404: Message, 409: Message},
    summary="Make a request (join, leave, form)",
    description=_scoped(
        "Step 1 of a procedure, by a school user for `school_urn`: `join_mat` (ask to join the MAT "
        "`partnership_id`; 409 when the school is already in a MAT or has a request in progress), `leave_mat` "
        "(leave the school's MAT by mutual consent; reason required), `form_federation` / `form_mat` (with "
        "`other_urns`, who must each consent; a MAT then needs regional approval)."
    ),
)
def post_request(request: HttpRequest, body: RequestIn) -> Any:
    if body.kind == "join_mat":
        if body.partnership_id is None:
            raise HttpError(409, "partnership_id is required to join a trust")
        return _run(
            services.submit_join,
            request.user,
            body.school_urn,
            body.partnership_id,
            body.effective_date,
            body.reason,
        )
    if body.kind == "leave_mat":
        return _run(services.submit_leave, request.user, body.school_urn, body.effective_date, body.reason)
    return _run(
        services.submit_form,
        request.user,
        body.kind,
        [body.school_urn, *body.other_urns],
        body.name,
        body.effective_date,
        body.reason,
        requesting_urn=body.school_urn,
    )


@router.post(
    "/requests/{int:request_id}",
    auth=django_auth,
    response={200: RequestOut, 403: Message, 404: Message, 409: Message},
    summary="Take a step on a request",
    description=_scoped(
        "`trust`: a trust administrator of the request's MAT consents or declines. `region`: the regional "
        "approver for the request's region approves (the change takes effect on the effective date) or "
        "declines. `school`: a school user of one of the proposed schools consents or declines. Declining "
        "needs a reason; a step already taken gives 409."
    ),
)
def post_step(request: HttpRequest, request_id: int, body: DecisionIn) -> Any:
    if body.step == "trust":
        return _run(services.trust_consent, request.user, request_id, body.approve, body.reason)
    if body.step == "region":
        return _run(services.regional_decision, request.user, request_id, body.approve, body.reason)
    if body.school_urn is None:
        raise HttpError(409, "school_urn is required for a school's consent")
    return _run(services.school_consent, request.user, request_id, body.school_urn, body.approve, body.reason)


# ------------------------------------------------------------------------------------------------ designations
DesignationKindCode = Literal["nle", "lle", "sle", "nss", "teaching_hub", "sponsor"]


class DesignationOut(Schema):
    id: int
    kind: str
    kind_label: str
    school_urn: int | None
    school_name: str
    region: str
    person_name: str
    partnership_id: int | None
    valid_from: dt.date
    valid_to: dt.date | None
    expertise: str


class DesignationQuery(Schema):
    kind: Literal["", "nle", "lle", "sle", "nss", "teaching_hub", "sponsor"] = ""
    region: str = Field("", description="the school's region (exact, case-insensitive)")
    urn: int | None = Field(None, description="the school's URN")
    page: int = Field(1, ge=1)
    page_size: int = Field(100, ge=1, le=1000)


class DesignationPage(Schema):
    count: int
    results: list[DesignationOut]


class DesignationIn(Schema):
    kind: DesignationKindCode
    valid_from: dt.date
    school_urn: int | None = Field(None, description="the designated school (or name a person)")
    person_name: str = Field("", max_length=200, description="the designated person (or give a school)")
    valid_to: dt.date | None = None
    expertise: str = Field("", max_length=300, description="areas of expertise, comma-separated")
    partnership_id: int | None = Field(
        None, description="the sponsor or hub as a partnership, when there is one"
    )


def _designation_out(d: Designation) -> dict[str, Any]:
    return {
        "id": d.pk,
        "kind": d.kind,
        "kind_label": d.get_kind_display(),
        "school_urn": d.school_id,
        "school_name": d.school.name if d.school else "",
        "region": d.school.region_name if d.school else "",
        "person_name": d.person_name,
        "partnership_id": d.partnership_id,
        "valid_from": d.valid_from,
        "valid_to": d.valid_to,
        "expertise": d.expertise,
    }


@router.get(
    "/designations",
    response=DesignationPage,
    summary="System leaders and designations",
    description=_public(
        "Designations (NLE, LLE, SLE, National Support School, teaching school hub, sponsor) as recorded on this service, "
        "filtered by `kind`, the school's `region` and the school's `urn`, like the designations page."
    ),
)
def list_designations(request: HttpRequest, query: Query[DesignationQuery]) -> dict[str, Any]:
    qs = queries.designations(kind=query.kind, region=query.region, urn=query.urn)
    start = (query.page - 1) * query.page_size
    return {
        "count": qs.count(),
        "results": [_designation_out(d) for d in qs[start : start + query.page_size]],
    }


@router.post(
    "/designations",
    auth=django_auth,
    response={201: DesignationOut, 403: Message, 404: Message, 409: Message},
    summary="Record a designation",
    description=(
        "Signed-in users only: staff, or the regional approver for the designated school's region (for a "
        "person without a school, any regional approver) - the same rule as the web form. Anyone else gets "
        "403 and nothing is written; an unknown school or partnership gives 404, an invalid record 409."
    ),
)
def post_designation(request: HttpRequest, body: DesignationIn) -> Any:
    if not queries.can_record_designation(
        request.user, None
    ):  # as the web form: refuse before looking anything up
        raise HttpError(403, "Only staff or the regional director's office can record designations.")
    if body.partnership_id is not None and not Partnership.objects.filter(pk=body.partnership_id).exists():
        raise HttpError(404, "No such partnership")
    try:
        d = services.record_designation(
            request.user,
            kind=body.kind,
            valid_from=body.valid_from,
            school_urn=body.school_urn,
            person_name=body.person_name,
            valid_to=body.valid_to,
            expertise=body.expertise,
            partnership_id=body.partnership_id,
        )
    except PermissionDenied as exc:
        raise HttpError(403, str(exc) or "Not allowed") from exc
    except services.ProcedureError as exc:
        raise HttpError(409, "; ".join(exc.messages)) from exc
    except School.DoesNotExist as exc:
        raise HttpError(404, "No such school") from exc
    return 201, _designation_out(d)
