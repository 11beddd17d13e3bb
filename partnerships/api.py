"""JSON API for partnerships (mounted at /api/partnerships in schoolpartners/api.py).

Public reads: trusts list/compare, a trust's stored aggregates and members, member mapping counts, the grant
calculator, ISSP search and designations. Recording a designation is for staff or the regional approver of the
school's region (as the web form). Requests (join, leave, form; each step) are for signed-in users acting for their own
school, trust or region: the services check the scope and refuse others with 403, changing nothing. Errors
are domain errors answered as problem bodies (schoolpartners/apikit.py): a refused step 409
(`ProcedureError`), not allowed 403, no such school, partnership or request 404.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from partnerships import queries, services
from partnerships.api_measures import router as measures_router
from partnerships.models import Activity, Designation, Partnership, PartnershipRequest, TrustAggregate
from partnerships.schemas import (
    CompareQuery,
    DecisionIn,
    DesignationIn,
    DesignationOut,
    DesignationQuery,
    GrantOut,
    GrantQuery,
    IsspOut,
    IsspQuery,
    MappingRow,
    MemberOut,
    RequestIn,
    RequestOut,
    TrustDetail,
    TrustRow,
)
from schoolpartners.access import PUBLIC_READ, SCOPED, SIGNED_IN
from schoolpartners.apikit import MAX_ID, Rows, operation, paginated
from schoolpartners.errors import BadRequest, Conflict, Forbidden, NotFound
from schoolpartners.params import Id, is_id
from schools.models import School

router = Router(tags=["partnerships"])
router.add_router(
    "", measures_router
)  # /trusts/{id}/measures, /trusts/side-by-side (partnerships/api_measures.py)


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


@router.get(
    "/trusts",
    **operation(
        PUBLIC_READ,
        list[TrustRow],
        summary="List and compare trusts",
        description="Stored trust aggregates, filtered (name `q`, kind, main region, main phase, "
        "compactness, size) and sorted like "
        "the Compare trusts page.",
    ),
)
@paginated(page_size=50, max_page_size=1000)
def list_trusts(request: HttpRequest, filters: Query[CompareQuery]) -> Rows:
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
    return Rows(queries.compare_trusts(params), convert=_row)


def _aggregate_or_404(trust_id: int) -> TrustAggregate:
    a = queries.trust_figures(trust_id) if 0 < trust_id <= MAX_ID else None
    if a is None:
        raise NotFound("No stored figures for that partnership")
    return a


@router.get(
    "/trusts/{int:trust_id}",
    **operation(
        PUBLIC_READ,
        TrustDetail,
        summary="A trust with its aggregates",
        description="Stored aggregates of one partnership: size, phases, regions, local authorities, Ofsted "
        "profile, establishment types, geography, pupil-weighted results by year of the schools while in "
        "the trust with 95% confidence and bootstrap intervals, the same under the 3-years rule and for "
        "today's members before they joined, and the DfE trust-level measures.",
        problems=(404,),
    ),
)
def trust_detail(request: HttpRequest, trust_id: Id) -> dict[str, Any]:
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
        "attribution": a.attribution or None,
        "dfe_measures": [
            {"measure": r.measure, "year": r.year, "value": r.value, "note": r.note}
            for r in queries.trust_results(a.partnership)
        ],
    }


@router.get(
    "/trusts/{int:trust_id}/members",
    **operation(
        PUBLIC_READ,
        list[MemberOut],
        summary="A trust's members",
        description="Current members as stored with the aggregates: location, distance to the trust's "
        "centre and the URNs whose KS2/KS4 results (latest year held) stand for each school.",
        problems=(404,),
    ),
)
def trust_members(request: HttpRequest, trust_id: Id) -> list[dict[str, Any]]:
    return _aggregate_or_404(trust_id).member_rows


@router.get(
    "/mapping",
    **operation(
        PUBLIC_READ,
        list[MappingRow],
        summary="Trust academies matched to results",
        description="Per key stage and year: academies in the MAT file matched to results directly, "
        "through one predecessor link, a chain, or not at all.",
    ),
)
def mapping(request: HttpRequest) -> list[dict[str, Any]]:
    return queries.mapping_report()


@router.get(
    "/grant",
    **operation(
        PUBLIC_READ,
        GrantOut,
        summary="Chain grant calculator",
        description="Grant for primary schools forming or joining a chain: a fixed amount per chain plus "
        "amounts per school under 100 and 100-210 pupils (latest census); amounts come from "
        "settings GRANT_PER_CHAIN, GRANT_PER_SMALL_SCHOOL, GRANT_PER_MEDIUM_SCHOOL.",
        problems=(400,),
    ),
)
def grant(request: HttpRequest, query: Query[GrantQuery]) -> Any:
    parts = [p for p in query.urns.replace(",", " ").split() if p]
    if not all(is_id(p) for p in parts):
        raise BadRequest("urns must be comma-separated numbers")
    g = queries.grant_for([int(p) for p in parts][:100])
    return {
        "per_chain": g.per_chain,
        "lines": [line.__dict__ for line in g.lines],
        "total": g.total,
        "small_schools": g.small_schools,
        "medium_schools": g.medium_schools,
    }


def _issp_school(s: Any) -> dict[str, Any]:
    return {"urn": s.urn, "name": s.name, "la": s.la_name}


@router.get(
    "/issp",
    **operation(
        PUBLIC_READ,
        IsspOut,
        summary="Search ISSPs and offers",
        description="Independent-state school partnerships and open offers/requests, by activity, local "
        "authority, region and distance (miles) from a postcode or a school.",
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


def _run(fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Run one procedure step; its errors answer as problems (refused 403, procedure 409, missing 404)."""
    try:
        req = fn(*args, **kwargs)
    except (Partnership.DoesNotExist, School.DoesNotExist) as exc:
        raise NotFound("No such school or partnership") from exc
    req.refresh_from_db()
    return _request_out(req)


@router.get(
    "/requests",
    **operation(
        SCOPED,
        list[RequestOut],
        summary="Your partnership requests",
        description="The requests of the caller's schools, trusts and region (staff see all). Anonymous "
        "callers get an empty list.",
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
    **operation(
        SCOPED,
        RequestOut,
        summary="One request",
        description="One request with its steps; 404 unless it concerns the caller's school, trust or "
        "region.",
        problems=(404,),
    ),
)
def get_request(request: HttpRequest, request_id: Id) -> Any:
    req = PartnershipRequest.objects.filter(pk=request_id).first()
    if req is None or not request.user.is_authenticated or not queries.can_view_request(request.user, req):
        raise NotFound("Not found")
    return _request_out(req)


@router.post(
    "/requests",
    **operation(
        SCOPED,
        RequestOut,
        summary="Make a request (join, leave, form)",
        description="Step 1 of a procedure, by a school user for `school_urn`: `join_mat` (ask to join the "
        "MAT `partnership_id`; 409 when the school is already in a MAT or has a request in progress), "
        "`leave_mat` (leave the school's MAT by mutual consent; reason required), `form_federation` / "
        "`form_mat` (with `other_urns`, who must each consent; a MAT then needs regional approval).",
        problems=(
            404,
            409,
        ),
        write=True,
    ),
)
def post_request(request: HttpRequest, body: RequestIn) -> Any:
    if body.kind == "join_mat":
        if body.partnership_id is None:
            raise Conflict("partnership_id is required to join a trust")
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
    **operation(
        SCOPED,
        RequestOut,
        summary="Take a step on a request",
        description="`trust`: a trust administrator of the request's MAT consents or declines. `region`: the "
        "regional approver for the request's region approves (the change takes effect on the effective date) "
        "or declines. `school`: a school user of one of the proposed schools consents or declines. Declining "
        "needs a reason; a step already taken gives 409.",
        problems=(
            404,
            409,
        ),
        write=True,
    ),
)
def post_step(request: HttpRequest, request_id: Id, body: DecisionIn) -> Any:
    if body.step == "trust":
        return _run(services.trust_consent, request.user, request_id, body.approve, body.reason)
    if body.step == "region":
        return _run(services.regional_decision, request.user, request_id, body.approve, body.reason)
    if body.school_urn is None:
        raise Conflict("school_urn is required for a school's consent")
    return _run(services.school_consent, request.user, request_id, body.school_urn, body.approve, body.reason)


# ------------------------------------------------------------------------------------------------ designations


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
    **operation(
        PUBLIC_READ,
        list[DesignationOut],
        summary="System leaders and designations",
        description="Designations (NLE, LLE, SLE, National Support School, teaching school hub, sponsor) as "
        "recorded on this service, "
        "filtered by `kind`, the school's `region` and the school's `urn`, like the designations page.",
    ),
)
@paginated(page_size=100, max_page_size=1000)
def list_designations(request: HttpRequest, query: Query[DesignationQuery]) -> Rows:
    return Rows(
        queries.designations(kind=query.kind, region=query.region, urn=query.urn), convert=_designation_out
    )


@router.post(
    "/designations",
    **operation(
        SIGNED_IN,
        DesignationOut,
        summary="Record a designation",
        who="staff, or the regional approver for the designated school's region (for a person without a "
        "school, any regional approver) - the same rule as the web form. Anyone else gets 403 and nothing is "
        "written; an unknown school or partnership gives 404, an invalid record 409.",
        problems=(404, 409),
        write=True,
        status=201,
    ),
)
def post_designation(request: HttpRequest, body: DesignationIn) -> Any:
    if not queries.can_record_designation(
        request.user, None
    ):  # as the web form: refuse before looking anything up
        raise Forbidden("Only staff or the regional director's office can record designations.")
    if body.partnership_id is not None and not Partnership.objects.filter(pk=body.partnership_id).exists():
        raise NotFound("No such partnership")
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
    except School.DoesNotExist as exc:
        raise NotFound("No such school") from exc
    return 201, _designation_out(d)
