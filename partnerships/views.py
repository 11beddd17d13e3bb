"""Partnership pages: compare trusts, a trust's page (map, members, pupil-weighted results, geography), member
mapping coverage, sponsors, the join/leave/form procedures, designations, the ISSP register and the grant
calculator. Views validate input, read through partnerships.queries, write through partnerships.services and
render; aggregates are stored by `schoolpartners partnerships recompute`, never computed per request.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.permissions import schools_of
from partnerships import aggregates as agg
from partnerships import forms, queries, services
from partnerships.models import (
    Designation,
    Kind,
    Partnership,
    PartnershipRequest,
    RequestKind,
    TrustAggregate,
)
from schoolpartners.access import public_read, school_or_trust_scoped, signed_in
from schoolpartners.exports import Column, export_response
from schools.measures import MEASURES, academic_year_label
from schools.models import School

COMPACTNESS = {"compact": "Compact", "regional": "Regional", "dispersed": "Dispersed", "unknown": "Not known"}
PHASES = {
    "primary": "Primary",
    "secondary": "Secondary",
    "all_through": "All-through",
    "16_plus": "16 plus",
    "middle_primary": "Middle (primary)",
    "middle_secondary": "Middle (secondary)",
    "nursery": "Nursery",
    "not_applicable": "Not applicable",
    "": "Not known",
}


def _query(get: QueryDict, **changes: Any) -> str:
    q = get.copy()
    for k, v in changes.items():
        if v is None or v == "":
            q.pop(k, None)
        else:
            q[k] = str(v)
    return q.urlencode()


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


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
    page = max(1, _int(request.GET.get("page")) or 1)
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
def _perf_rows(a: TrustAggregate | None) -> list[dict[str, Any]]:
    if a is None:
        return []
    rows = []
    for p in sorted(a.performance, key=lambda r: (r["key_stage"], r["measure"], r["year"])):
        m = MEASURES.get(p["measure"])
        rows.append(
            {**p, "label": m.label if m else p["measure"], "academic_year": academic_year_label(p["year"])}
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
    Column("ofsted", "Latest Ofsted rating"),
    Column("miles_to_centroid", "Miles to the trust's centre"),
    Column("ks2_results_urn", "URN holding KS2 results (latest year)"),
    Column("ks4_results_urn", "URN holding KS4 results (latest year)"),
    Column("lat", "Latitude"),
    Column("lon", "Longitude"),
]
PERF_COLUMNS = [
    Column("key_stage", "Key stage"),
    Column("measure", "Measure code"),
    Column("label", "Measure"),
    Column("year", "Year (academic year ends)"),
    Column("academic_year", "Academic year"),
    Column("mean", "Pupil-weighted mean"),
    Column("se", "Standard error"),
    Column("low", "95% CI low"),
    Column("high", "95% CI high"),
    Column("schools", "Schools"),
    Column("pupils", "Pupils"),
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
    return p, TrustAggregate.objects.filter(partnership=p).first()


@public_read
def trust(request: HttpRequest, pk: int) -> HttpResponse:
    p, a = _trust_or_404(pk)
    members = list(p.memberships.select_related("school").order_by("left", "school__name"))
    current = [m for m in members if m.left is None]
    past = [m for m in members if m.left is not None]
    stored_urns = {r["urn"] for r in a.member_rows} if a else set()
    perf = _perf_rows(a)
    dfe = [
        {"measure": r.measure, "year": academic_year_label(r.year), "value": r.value, "note": r.note}
        for r in queries.trust_results(p)
    ]
    user_schools = schools_of(request.user) if request.user.is_authenticated else []
    return render(
        request,
        "partnerships/trust.html",
        {
            "p": p,
            "a": a,
            "current": current,
            "past": past,
            "perf": perf,
            "dfe": dfe,
            "stale": [m for m in current if m.school_id not in stored_urns] if a else [],
            "compactness": COMPACTNESS.get(a.compactness, "") if a else "",
            "phase_labels": PHASES,
            "can_join": bool(user_schools) and p.kind == Kind.MAT,
            "map_points": [r for r in (a.member_rows if a else []) if r.get("lat") is not None],
            "exports": {
                t: {f: reverse("partnerships:trust-export", args=[pk, t, f]) for f in ("csv", "xlsx")}
                for t in ("members", "performance", "dfe")
            },
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
    if table == "performance":
        return export_response(_perf_rows(a), PERF_COLUMNS, f"trust-{pk}-performance", fmt, sheet="Results")
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
    rows = []
    for s in queries.sponsors():
        rows.append(
            {
                "p": s,
                "schools": [
                    m.school for m in s.memberships.filter(left__isnull=True).select_related("school")
                ],
            }
        )
    designations = Designation.objects.filter(kind="sponsor").select_related("school", "partnership")
    return render(request, "partnerships/sponsors.html", {"rows": rows, "designations": designations})


# ---------------------------------------------------------------------------------------------------------------
# Procedures
# ---------------------------------------------------------------------------------------------------------------
def _my_schools(request: HttpRequest) -> list[tuple[int, str]]:
    urns = schools_of(request.user)
    return [(s.urn, f"{s.name} ({s.urn})") for s in School.objects.filter(urn__in=urns)]


def _refused(request: HttpRequest, exc: services.ProcedureError, form: Any = None) -> None:
    msg = "; ".join(exc.messages)
    if form is not None:
        form.add_error(None, msg)
    else:
        messages.error(request, msg)


@school_or_trust_scoped
def join(request: HttpRequest) -> HttpResponse:
    """Ask to join a MAT, leave one, or form a federation / MAT (the three request forms)."""
    schools = _my_schools(request)
    if not schools:
        raise PermissionDenied("Only school users can make requests for a school.")
    initial_school = _int(request.GET.get("school"))
    initial = {"school": initial_school, "trust": _int(request.GET.get("trust"))}
    join_form = forms.JoinForm(schools=schools, initial=initial, prefix="join")
    leave_form = forms.LeaveForm(schools=schools, initial=initial, prefix="leave")
    form_form = forms.FormPartnershipForm(schools=schools, initial=initial, prefix="form")
    grant = None
    if request.method == "POST":
        which = request.POST.get("which")
        posted = _int(request.POST.get(f"{which}-school"))
        if posted is not None and posted not in {u for u, _ in schools}:
            raise PermissionDenied("You can only make requests for your own school.")
        try:
            if which == "join":
                join_form = forms.JoinForm(request.POST, schools=schools, prefix="join")
                if join_form.is_valid():
                    d = join_form.cleaned_data
                    if not Partnership.objects.filter(pk=d["trust"], kind=Kind.MAT).exists():
                        join_form.add_error("trust", "There is no multi-academy trust with that number")
                    else:
                        req = services.submit_join(
                            request.user, d["school"], d["trust"], d["effective_date"], d["reason"]
                        )
                        messages.success(request, "Your request to join has been sent to the trust board.")
                        return redirect("partnerships:request", pk=req.pk)
            elif which == "leave":
                leave_form = forms.LeaveForm(request.POST, schools=schools, prefix="leave")
                if leave_form.is_valid():
                    d = leave_form.cleaned_data
                    req = services.submit_leave(request.user, d["school"], d["effective_date"], d["reason"])
                    messages.success(request, "Your request to leave has been sent to the trust board.")
                    return redirect("partnerships:request", pk=req.pk)
            elif which == "form":
                form_form = forms.FormPartnershipForm(request.POST, schools=schools, prefix="form")
                if form_form.is_valid():
                    d = form_form.cleaned_data
                    req = services.submit_form(
                        request.user,
                        d["kind"],
                        [d["school"], *d["others"]],
                        d["name"],
                        d["effective_date"],
                        d["reason"],
                        requesting_urn=d["school"],
                    )
                    messages.success(
                        request, "Your proposal has been sent to the other schools for their consent."
                    )
                    return redirect("partnerships:request", pk=req.pk)
            else:
                raise Http404("Unknown form")
        except services.ProcedureError as exc:
            target = {"join": join_form, "leave": leave_form, "form": form_form}[which or "join"]
            _refused(request, exc, target)
    elif request.GET.get("grant"):
        others = [int(p) for p in request.GET.get("grant", "").replace(",", " ").split() if p.isdigit()][:100]
        grant = queries.grant_for([s for s, _ in schools][:1] + others)
    return render(
        request,
        "partnerships/join.html",
        {
            "join_form": join_form,
            "leave_form": leave_form,
            "form_form": form_form,
            "grant": grant,
        },
    )


@signed_in
def requests_list(request: HttpRequest) -> HttpResponse:
    reqs = queries.requests_for(request.user)[:200]
    return render(
        request,
        "partnerships/requests.html",
        {
            "requests": reqs,
            "exports": {f: reverse("partnerships:requests-export", args=[f]) for f in ("csv", "xlsx")},
        },
    )


REQUEST_COLUMNS = [
    Column("id", "Request"),
    Column("kind", "Kind"),
    Column("status", "Status"),
    Column("school_urn", "School URN"),
    Column("school", "School"),
    Column("partnership_id", "Partnership id"),
    Column("partnership", "Partnership"),
    Column("new_name", "Name of the new federation or trust"),
    Column("region", "Region"),
    Column("effective_date", "Effective date"),
    Column("reason", "Reason"),
    Column("decline_reason", "Reason declined"),
    Column("created_at", "Made"),
    Column("decided_at", "Decided"),
]


@signed_in
def requests_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """The requests the caller may see (the same scope as the requests page)."""
    rows = (
        {
            "id": r.pk,
            "kind": r.get_kind_display(),
            "status": r.get_status_display(),
            "school_urn": r.school_id,
            "school": r.school.name if r.school else "",
            "partnership_id": r.partnership_id,
            "partnership": r.partnership.name if r.partnership else "",
            "new_name": r.new_name,
            "region": r.region,
            "effective_date": r.effective_date,
            "reason": r.reason,
            "decline_reason": r.decline_reason,
            "created_at": r.created_at,
            "decided_at": r.decided_at,
        }
        for r in queries.requests_for(request.user)
    )
    return export_response(rows, REQUEST_COLUMNS, "partnership-requests", fmt, sheet="Requests")


def _request_or_404(request: HttpRequest, pk: int) -> PartnershipRequest:
    req = get_object_or_404(
        PartnershipRequest.objects.select_related("school", "partnership", "result_partnership"), pk=pk
    )
    if not queries.can_view_request(request.user, req):
        raise PermissionDenied("This request is not for your school, trust or region.")
    return req


@school_or_trust_scoped
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    req = _request_or_404(request, pk)
    actions = queries.request_actions(request.user, req)
    school_form = None
    if actions["schools"]:
        school_form = forms.SchoolConsentForm(
            schools=[(rs.school_id, rs.school.name) for rs in actions["schools"]], prefix="school"
        )
    return render(
        request,
        "partnerships/request.html",
        {
            "req": req,
            "actions": actions,
            "steps": req.steps.select_related("actor"),
            "schools": req.schools.select_related("school"),
            "decision_form": forms.DecisionForm(prefix="decision"),
            "school_form": school_form,
            "grant": queries.grant_for([rs.school_id for rs in req.schools.all()])
            if req.kind == RequestKind.FORM_MAT
            else None,
        },
    )


@require_POST
@school_or_trust_scoped
def request_decide(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    """Take one step: `trust` (trust board consent), `region` (regional approval) or `school` (a school's consent).
    The service checks the actor's scope: anyone else gets 403 and nothing changes."""
    get_object_or_404(PartnershipRequest, pk=pk)
    posted = _int(request.POST.get("school-school"))
    if step == "school" and posted is not None and posted not in schools_of(request.user):
        raise PermissionDenied("You can only consent for your own school.")
    if step == "school":
        form: forms.DecisionForm = forms.SchoolConsentForm(
            request.POST, schools=[(u, str(u)) for u in schools_of(request.user)], prefix="school"
        )
    else:
        form = forms.DecisionForm(request.POST, prefix="decision")
    if not form.is_valid():
        messages.error(request, "; ".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect("partnerships:request", pk=pk)
    yes = form.cleaned_data["decision"] == "yes"
    reason = form.cleaned_data.get("reason", "")
    try:
        if step == "trust":
            services.trust_consent(request.user, pk, yes, reason)
        elif step == "region":
            services.regional_decision(request.user, pk, yes, reason)
        elif step == "school":
            services.school_consent(request.user, pk, form.cleaned_data["school"], yes, reason)
        else:
            raise Http404("Unknown step")
    except services.ProcedureError as exc:
        _refused(request, exc)
        return redirect("partnerships:request", pk=pk)
    messages.success(request, "Your decision has been recorded.")
    return redirect("partnerships:request", pk=pk)


# ---------------------------------------------------------------------------------------------------------------
# Designations, ISSP register, grants
# ---------------------------------------------------------------------------------------------------------------
@public_read
def designations(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    rows = queries.designations(kind=kind)
    return render(
        request,
        "partnerships/designations.html",
        {
            "rows": rows[:500],
            "can_record": queries.can_record_designation(request.user, None),
            "kinds": forms.DesignationKind.choices,
            "kind": kind,
            "exports": {
                f: reverse("partnerships:designations-export", args=[f])
                + ("?" + _query(request.GET) if kind else "")
                for f in ("csv", "xlsx")
            },
        },
    )


DESIGNATION_COLUMNS = [
    Column("kind", "Designation"),
    Column("school_urn", "School URN"),
    Column("school", "School"),
    Column("person", "Person"),
    Column("valid_from", "From"),
    Column("valid_to", "To"),
    Column("expertise", "Expertise"),
]


@public_read
def designations_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    rows = (
        {
            "kind": d.get_kind_display(),
            "school_urn": d.school_id,
            "school": d.school.name if d.school else "",
            "person": d.person_name,
            "valid_from": d.valid_from,
            "valid_to": d.valid_to,
            "expertise": d.expertise,
        }
        for d in queries.designations(kind=request.GET.get("kind", ""))
    )
    return export_response(rows, DESIGNATION_COLUMNS, "designations", fmt, sheet="Designations")


@school_or_trust_scoped
def designation_new(request: HttpRequest) -> HttpResponse:
    if not queries.can_record_designation(request.user, None):
        raise PermissionDenied("Only staff or the regional director's office can record designations.")
    form = forms.DesignationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.record_designation(
                request.user,
                kind=d["kind"],
                valid_from=d["valid_from"],
                school_urn=d["school"],
                person_name=d["person_name"],
                valid_to=d["valid_to"],
                expertise=d["expertise"],
            )
        except School.DoesNotExist:
            form.add_error("school", "There is no school with that URN")
        except services.ProcedureError as exc:
            _refused(request, exc, form)
        else:
            messages.success(request, "The designation has been recorded.")
            return redirect("partnerships:designations")
    return render(request, "partnerships/designation_new.html", {"form": form})


@school_or_trust_scoped
def register(request: HttpRequest) -> HttpResponse:
    """Staff or a regional director's office record an ISSP, sponsor, teaching school hub or umbrella trust."""
    if not queries.can_record_designation(request.user, None):
        raise PermissionDenied("Only staff or the regional director's office can register partnerships.")
    form = forms.RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            p = services.register_partnership(
                request.user, d["kind"], d["name"], d["urns"], d["activities"], d["description"]
            )
        except services.ProcedureError as exc:
            _refused(request, exc, form)
        else:
            messages.success(request, f"{p.name} has been registered.")
            return redirect("partnerships:trust", pk=p.pk)
    return render(request, "partnerships/register.html", {"form": form})


@public_read
def issp(request: HttpRequest) -> HttpResponse:
    form = forms.IsspSearchForm(request.GET or None)
    results = None
    point_missing = False
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        point = queries.point_for(d["postcode"] or "", d["urn"])
        point_missing = bool(d["postcode"] or d["urn"]) and point is None
        results = queries.search_issp(
            queries.IsspSearch(
                activity=d["activity"], la=d["la"], region=d["region"], point=point, miles=d["miles"]
            )
        )
    exports = {
        t: {
            f: reverse("partnerships:issp-export", args=[t, f])
            + ("?" + request.GET.urlencode() if request.GET else "")
            for f in ("csv", "xlsx")
        }
        for t in ("partnerships", "posts")
    }
    return render(
        request,
        "partnerships/issp.html",
        {
            "form": form,
            "results": results,
            "point_missing": point_missing,
            "can_post": bool(request.user.is_authenticated and schools_of(request.user)),
            "exports": exports,
        },
    )


ISSP_COLUMNS = [
    Column("id", "Partnership id"),
    Column("name", "Partnership"),
    Column("activities", "Activities"),
    Column("urns", "School URNs"),
    Column("schools", "Schools"),
    Column("miles", "Miles"),
]
ISSP_POST_COLUMNS = [
    Column("id", "Post id"),
    Column("urn", "School URN"),
    Column("school", "School"),
    Column("kind", "Offer or request"),
    Column("activity", "Activity"),
    Column("description", "Details"),
    Column("max_miles", "Furthest distance (miles)"),
    Column("miles", "Miles"),
]


@public_read
def issp_export(request: HttpRequest, table: str, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """The ISSP search results for the same query as the page (an empty query finds everything)."""
    form = forms.IsspSearchForm(request.GET)
    if not form.is_valid():
        raise Http404("Invalid search")
    d = form.cleaned_data
    point = queries.point_for(d["postcode"] or "", d["urn"])
    results = queries.search_issp(
        queries.IsspSearch(
            activity=d["activity"], la=d["la"], region=d["region"], point=point, miles=d["miles"]
        )
    )
    if table == "partnerships":
        rows = [
            {
                "id": r["partnership"].pk,
                "name": r["partnership"].name,
                "activities": "; ".join(r["activities"]),
                "urns": "; ".join(str(s.urn) for s in r["schools"]),
                "schools": "; ".join(s.name for s in r["schools"]),
                "miles": r["miles"],
            }
            for r in results["partnerships"]
        ]
        return export_response(rows, ISSP_COLUMNS, "issp-partnerships", fmt, sheet="Partnerships")
    if table == "posts":
        rows = [
            {
                "id": r["post"].pk,
                "urn": r["post"].school_id,
                "school": r["post"].school.name,
                "kind": r["post"].get_kind_display(),
                "activity": r["post"].get_activity_display(),
                "description": r["post"].description,
                "max_miles": r["post"].max_miles,
                "miles": r["miles"],
            }
            for r in results["posts"]
        ]
        return export_response(
            rows, ISSP_POST_COLUMNS, "issp-offers-and-requests", fmt, sheet="Offers and requests"
        )
    raise Http404("No such table")


@school_or_trust_scoped
def issp_post(request: HttpRequest) -> HttpResponse:
    schools = _my_schools(request)
    if not schools:
        raise PermissionDenied("Only school users can post for a school.")
    form = forms.IsspPostForm(request.POST or None, schools=schools)
    matches = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            post = services.post_issp(
                request.user,
                school_urn=d["school"],
                activity=d["activity"],
                description=d["description"],
                max_miles=d["max_miles"],
            )
        except services.ProcedureError as exc:
            _refused(request, exc, form)
        else:
            messages.success(request, f"Your {post.get_kind_display().lower()} has been posted.")
            matches = queries.issp_matches(post)
    return render(request, "partnerships/issp_post.html", {"form": form, "matches": matches})


@public_read
def grant(request: HttpRequest) -> HttpResponse:
    form = forms.GrantForm(request.GET or None)
    result = queries.grant_for(form.cleaned_data["urns"]) if form.is_bound and form.is_valid() else None
    return render(request, "partnerships/grant.html", {"form": form, "grant": result})
