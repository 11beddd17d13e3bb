"""Brokerage pages. Views validate input, read through `brokerage.queries`, write through `brokerage.services`
and render; the services enforce roles (a broker only for their region, a school user only for their school, a
system leader only for their offer)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from brokerage import queries, services
from brokerage.forms import CloseForm, DeploymentForm, MatchingForm, NeedForm, OfferForm
from brokerage.models import Deployment, MatchingRun, Offer, Proposal
from schoolpartners.access import public_read, signed_in
from schoolpartners.exports import Column, export_response
from schoolpartners.params import is_id
from schools.models import School

RESULT_COLUMNS = [
    Column("urn", "URN"),
    Column("school", "School in need"),
    Column("la", "Local authority"),
    Column("region", "Region"),
    Column("area", "Area"),
    Column("severity", "Severity"),
    Column("need_source", "Need source"),
    Column("offer_id", "Offer"),
    Column("supporter_urn", "Supporter URN"),
    Column("supporter", "Supporter"),
    Column("miles", "Miles"),
    Column("cost", "Cost"),
    Column("reason", "Reason"),
    Column("alternatives", "Alternatives considered"),
    Column("unmatched", "Why unmatched"),
    Column("nearest_miles", "Nearest compatible offer (miles)"),
]


def cold_columns(cold: dict[str, Any], la: bool = True) -> list[Column]:
    """The cold-spot table's columns, labelled with the run's own radius ladder."""
    return [
        Column("region", "Region"),
        *([Column("la", "Local authority")] if la else []),
        Column("needs", "Needs"),
        Column("beyond_middle", f"No compatible offer within {cold['middle']} miles"),
        Column("beyond_outer", f"No compatible offer within {cold['outer']} miles"),
        Column("unserved", "Unserved"),
    ]


LA_COLUMNS = [
    Column("region", "Region"),
    Column("la", "Local authority"),
    Column("needs", "Needs"),
    Column("over_50", "No offer within 50 miles"),
    Column("over_75", "No offer within 75 miles"),
    Column("unserved", "Unserved"),
]
REGION_COLUMNS = [c for c in LA_COLUMNS if c.key != "la"]
DISTRICT_COLUMNS = [
    Column("district", "District (ONS, May 2024)"),
    Column("needs", "Needs"),
    Column("unserved", "Unserved by this matching"),
]
PROPOSAL_COLUMNS = [
    Column("id", "Proposal"),
    Column("urn", "URN"),
    Column("school", "School in need"),
    Column("area", "Area"),
    Column("supporter_urn", "Supporter URN"),
    Column("supporter", "Supporter"),
    Column("miles", "Miles"),
    Column("reason", "Reason"),
    Column("status", "Status"),
    Column("need_response", "School in need"),
    Column("offer_response", "Supporter"),
]
DEPLOYMENT_COLUMNS = [
    Column("id", "Deployment"),
    Column("urn", "URN"),
    Column("school", "School supported"),
    Column("area", "Area"),
    Column("supporter_urn", "Supporter URN"),
    Column("supporter", "Supporter"),
    Column("status", "Status"),
    Column("support_type", "Type of support"),
    Column("days", "Days"),
    Column("start", "Start"),
    Column("end", "End"),
    Column("outcome", "Outcome"),
]


def _exports(name: str, **kwargs: Any) -> dict[str, str]:
    return {fmt: reverse(name, kwargs={**kwargs, "fmt": fmt}) for fmt in ("csv", "xlsx")}


def _run_or_denied(request: HttpRequest, run_id: int) -> MatchingRun:
    run = get_object_or_404(MatchingRun, pk=run_id)
    queries.check_view_run(request.user, run)
    return run


@signed_in
def home(request: HttpRequest) -> HttpResponse:
    regions = queries.broker_regions(request.user)
    form = MatchingForm(request.POST or None, regions=regions, initial={"region": request.GET.get("region")})
    if request.method == "POST":
        if not regions:
            raise PermissionDenied("Only a broker can run a matching.")
        if form.is_valid() and request.POST.get("background"):  # a job: follow it on its page (issue 13)
            from brokerage.tasks import start_matching

            job = start_matching(request.user, form.cleaned_data["region"], form.options())
            return redirect("jobs:job", job_id=job.pk)
        if form.is_valid():
            try:
                run = services.run_matching(request.user, form.cleaned_data["region"], form.options())
            except ValidationError as exc:
                form.add_error(None, "; ".join(exc.messages))
            else:
                messages.success(
                    request,
                    f"Matching {run.pk} finished: {run.summary['served']} of "
                    f"{run.summary['needs']} needs matched.",
                )
                return redirect("brokerage:run", run_id=run.pk)
    runs = MatchingRun.objects.filter(region__in=regions)[:20] if regions else []
    return render(
        request,
        "brokerage/home.html",
        {"form": form, "regions": regions, "runs": runs, "exports": _exports("brokerage:runs-export")},
    )


RUN_COLUMNS = [
    Column("id", "Matching"),
    Column("region", "Region"),
    Column("created_at", "Run at"),
    Column("status", "Status"),
    Column("what_if", "What if"),
    Column("needs", "Needs"),
    Column("served", "Matched"),
    Column("solve_seconds", "Solve seconds"),
]


@signed_in
def runs_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    regions = queries.broker_regions(request.user)
    rows = [
        {
            "id": r.pk,
            "region": r.region,
            "created_at": r.created_at,
            "status": r.get_status_display(),
            "what_if": r.what_if,
            "needs": r.summary.get("needs"),
            "served": r.summary.get("served"),
            "solve_seconds": r.summary.get("solve_seconds"),
        }
        for r in MatchingRun.objects.filter(region__in=regions)
    ]
    return export_response(rows, RUN_COLUMNS, "matchings", fmt)


@signed_in
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run_or_denied(request, run_id)
    rows = queries.result_rows(run)
    cold = queries.cold_spots(run)
    districts = queries.unmet_by_district(run)
    return render(
        request,
        "brokerage/run.html",
        {
            "run": run,
            "rows": rows,
            "words": queries.run_summary_words(run, rows),
            "groups": queries.matched_by_area(rows),
            "matched": [r for r in rows if r["offer_id"]],
            "unmatched": [r for r in rows if not r["offer_id"]],
            "cold": cold,
            "districts": districts,
            "district_shading": {d["district"]: d["unserved"] for d in districts},
            "exports": {
                "districts": _exports("brokerage:run-export", run_id=run.pk, table="districts"),
                "results": _exports("brokerage:run-export", run_id=run.pk, table="results"),
                "la": _exports("brokerage:run-export", run_id=run.pk, table="coldspots-la"),
                "region": _exports("brokerage:run-export", run_id=run.pk, table="coldspots-region"),
            },
        },
    )


@signed_in
@require_POST
def send(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run_or_denied(request, run_id)
    ids = [int(x) for x in request.POST.getlist("result") if is_id(x)]
    if not ids:
        messages.error(request, "Select at least one proposal to send.")
        return redirect("brokerage:run", run_id=run.pk)
    sent = services.send_proposals(request.user, run, ids)
    messages.success(request, f"{len(sent)} proposal{'s' if len(sent) != 1 else ''} sent.")
    return redirect("brokerage:run", run_id=run.pk)


@signed_in
def run_export(
    request: HttpRequest, run_id: int, table: str, fmt: str
) -> HttpResponse | StreamingHttpResponse:
    run = _run_or_denied(request, run_id)
    if table == "results":
        return export_response(queries.result_rows(run), RESULT_COLUMNS, f"matching-{run.pk}", fmt)
    if table == "districts":
        rows = queries.unmet_by_district(run)
        return export_response(rows, DISTRICT_COLUMNS, f"matching-{run.pk}-districts", fmt)
    cold = queries.cold_spots(run)
    if table == "coldspots-la":
        return export_response(cold["by_la"], cold_columns(cold), f"matching-{run.pk}-cold-spots-la", fmt)
    if table == "coldspots-region":
        return export_response(
            cold["by_region"], cold_columns(cold, la=False), f"matching-{run.pk}-cold-spots-region", fmt
        )
    raise Http404("unknown table")


@signed_in
def proposals(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "brokerage/proposals.html",
        {
            "rows": queries.proposal_rows(request.user),
            "exports": _exports("brokerage:proposals-export"),
        },
    )


@signed_in
@require_POST
def respond(request: HttpRequest, proposal_id: int) -> HttpResponse:
    side = request.POST.get("side", "")
    decision = request.POST.get("decision", "")
    if side not in ("need", "offer") or decision not in ("accept", "decline"):
        raise Http404("unknown response")
    try:
        p = services.respond(request.user, proposal_id, side, decision == "accept")
    except Proposal.DoesNotExist as exc:
        raise Http404("no such proposal") from exc
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return redirect("brokerage:proposals")
    messages.success(request, f"Proposal {p.pk}: you {decision}ed. Status: {p.get_status_display()}.")
    return redirect("brokerage:proposals")


@signed_in
def proposals_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    return export_response(queries.proposal_rows(request.user), PROPOSAL_COLUMNS, "proposals", fmt)


@signed_in
def deployments(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "brokerage/deployments.html",
        {
            "rows": queries.deployment_rows(request.user),
            "exports": _exports("brokerage:deployments-export"),
        },
    )


@signed_in
def deployment_detail(request: HttpRequest, deployment_id: int) -> HttpResponse:
    d = get_object_or_404(
        Deployment.objects.select_related("need__school", "offer__school"), pk=deployment_id
    )
    if not queries.deployments_for(request.user).filter(pk=d.pk).exists():
        raise PermissionDenied("You cannot see this deployment.")
    can_manage = queries.can_manage_deployment(request.user, d)
    form = DeploymentForm(
        initial={"support_type": d.support_type, "days": d.days, "start": d.start, "end": d.end}
    )
    close = CloseForm()
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("Only a broker for the region can change this deployment.")
        try:
            if request.POST.get("action") == "close":
                close = CloseForm(request.POST)
                if close.is_valid():
                    services.close_deployment(request.user, d.pk, close.cleaned_data["outcome"])
                    messages.success(request, "Deployment closed.")
                    return redirect("brokerage:deployment", deployment_id=d.pk)
            else:
                form = DeploymentForm(request.POST)
                if form.is_valid():
                    services.update_deployment(request.user, d.pk, **form.cleaned_data)
                    messages.success(request, "Deployment updated.")
                    return redirect("brokerage:deployment", deployment_id=d.pk)
        except ValidationError as exc:  # shown in the error summary
            (close if request.POST.get("action") == "close" else form).add_error(
                None, "; ".join(exc.messages)
            )
    return render(
        request, "brokerage/deployment.html", {"d": d, "form": form, "close": close, "can_manage": can_manage}
    )


@signed_in
def deployments_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    return export_response(queries.deployment_rows(request.user), DEPLOYMENT_COLUMNS, "deployments", fmt)


@public_read
def methodology(request: HttpRequest) -> HttpResponse:
    from brokerage import engine

    return render(
        request,
        "brokerage/methodology.html",
        {
            "p": engine.DEFAULT_PARAMS,
            "services": services,
            "reasons": queries.UNMATCHED_LABELS,
            "capacity": services.capacity_for(""),
            "ratings": ", ".join(services.eligible_ratings()),
        },
    )


@signed_in
def school_needs_offers(request: HttpRequest) -> HttpResponse:
    """A school user declares needs and offers for their school; a system leader makes their own offers."""
    urns = queries.schools_of(request.user)
    leader = queries.is_system_leader(request.user)
    own = [(s.urn, s.name) for s in School.objects.filter(urn__in=urns)]
    all_schools = own
    post = request.POST.copy()
    if leader:
        base = School.objects.filter(urn__in=urns) | School.objects.filter(
            urn__in=Offer.objects.filter(leader_id=request.user.pk).values("school_id")
        )
        all_schools = [(s.urn, s.name) for s in base.distinct()]
        urn_text = request.POST.get("leader_school", "")
        if is_id(urn_text) and School.objects.filter(urn=int(urn_text)).exists():
            s = School.objects.get(urn=int(urn_text))
            all_schools = [*all_schools, (s.urn, s.name)]
            post["offer-school"] = str(s.urn)
    need_form = NeedForm(
        request.POST if request.POST.get("form") == "need" else None, schools=own, prefix="need"
    )
    offer_form = OfferForm(
        post if request.POST.get("form") == "offer" else None, schools=all_schools, prefix="offer"
    )
    if request.method == "POST":
        try:
            if request.POST.get("form") == "need" and need_form.is_valid():
                d = need_form.cleaned_data
                services.declare_need(request.user, d["school"], d["area"], d["severity"], d["evidence"])
                messages.success(request, "Need recorded.")
                return redirect("brokerage:school")
            if request.POST.get("form") == "offer" and offer_form.is_valid():
                d = dict(offer_form.cleaned_data)
                school, areas, phases = d.pop("school"), d.pop("areas"), d.pop("phases")
                services.declare_offer(
                    request.user, school, areas, phases, as_system_leader=leader and school not in urns, **d
                )
                messages.success(request, "Offer recorded.")
                return redirect("brokerage:school")
        except ValidationError as exc:  # shown in the error summary
            target = need_form if request.POST.get("form") == "need" else offer_form
            target.add_error(None, "; ".join(exc.messages))
    return render(
        request,
        "brokerage/school.html",
        {
            "exports": {t: _exports("brokerage:school-export", table=t) for t in ("needs", "offers")},
            "need_form": need_form,
            "offer_form": offer_form,
            "own": own,
            "leader": leader,
            "needs": queries.needs_of(request.user),
            "offers": queries.offers_of(request.user),
        },
    )


NEED_COLUMNS = [
    Column("urn", "URN"),
    Column("school", "School"),
    Column("area", "Area"),
    Column("severity", "Severity"),
    Column("source", "Source"),
    Column("evidence", "Evidence"),
    Column("is_open", "Open"),
]
OFFER_COLUMNS = [
    Column("id", "Offer"),
    Column("urn", "URN"),
    Column("school", "School"),
    Column("designation", "Designation"),
    Column("areas", "Areas"),
    Column("phases", "Phases"),
    Column("capacity", "Capacity"),
    Column("max_miles", "Maximum miles"),
    Column("available_from", "Available from"),
    Column("available_to", "Available until"),
    Column("is_active", "Active"),
]


@signed_in
def school_export(request: HttpRequest, table: str, fmt: str) -> HttpResponse | StreamingHttpResponse:
    if table == "needs":
        rows = [
            {
                "urn": n.school_id,
                "school": n.school.name,
                "area": n.get_area_display(),
                "severity": n.get_severity_display(),
                "source": n.get_source_display(),
                "evidence": n.evidence,
                "is_open": n.is_open,
            }
            for n in queries.needs_of(request.user)
        ]
        return export_response(rows, NEED_COLUMNS, "needs", fmt)
    rows = [
        {
            "id": o.pk,
            "urn": o.school_id,
            "school": o.school.name,
            "designation": o.get_designation_display(),
            "areas": ", ".join(o.areas),
            "phases": ", ".join(o.phases),
            "capacity": o.capacity,
            "max_miles": o.max_miles,
            "available_from": o.available_from,
            "available_to": o.available_to,
            "is_active": o.is_active,
        }
        for o in queries.offers_of(request.user)
    ]
    return export_response(rows, OFFER_COLUMNS, "offers", fmt)
