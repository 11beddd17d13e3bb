"""The join/leave/form procedure pages: the request forms, the requests a user may see (and their export), a
request's page and the decision steps."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.permissions import schools_of
from partnerships import forms, queries, services
from partnerships.models import (
    PartnershipRequest,
    RequestKind,
)
from partnerships.views.common import _int, _my_schools, _refused
from schoolpartners.access import school_or_trust_scoped, signed_in
from schoolpartners.exports import Column, export_response
from schoolpartners.params import is_id

# ---------------------------------------------------------------------------------------------------------------
# Procedures
# ---------------------------------------------------------------------------------------------------------------


@school_or_trust_scoped
def join(request: HttpRequest) -> HttpResponse:
    """Ask to join a MAT, leave one, or form a federation / MAT (the three request forms)."""
    schools = _my_schools(request)
    if not schools:
        raise PermissionDenied("Only school users can make requests for a school.")
    initial_school = _int(request.GET.get("school"))
    initial = {"school": initial_school, "trust": _int(request.GET.get("trust"))}
    # Only the actions that apply: a school in a MAT may ask to leave it, one outside a MAT to join one.
    in_mat = queries.urns_in_a_mat(u for u, _ in schools)
    join_schools = [(u, n) for u, n in schools if u not in in_mat]
    leave_schools = [(u, n) for u, n in schools if u in in_mat]
    join_form = forms.JoinForm(schools=join_schools, initial=initial, prefix="join")
    leave_form = forms.LeaveForm(schools=leave_schools, initial=initial, prefix="leave")
    form_form = forms.FormPartnershipForm(schools=schools, initial=initial, prefix="form")
    grant = None
    if request.method == "POST":
        which = request.POST.get("which")
        posted = _int(request.POST.get(f"{which}-school"))
        if posted is not None and posted not in {u for u, _ in schools}:
            raise PermissionDenied("You can only make requests for your own school.")
        try:
            if which == "join":
                # posted for any of the user's schools: the service says why one in a MAT cannot join
                join_form = forms.JoinForm(request.POST, schools=schools, prefix="join")
                if join_form.is_valid():
                    d = join_form.cleaned_data  # the trust field resolved a multi-academy trust
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
        others = [int(p) for p in request.GET.get("grant", "").replace(",", " ").split() if is_id(p)][:100]
        grant = queries.grant_for([s for s, _ in schools][:1] + others)
    return render(
        request,
        "partnerships/join.html",
        {
            "join_form": join_form,
            "leave_form": leave_form,
            "form_form": form_form,
            "grant": grant,
            "can_join": bool(join_schools),
            "can_leave": bool(leave_schools),
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
