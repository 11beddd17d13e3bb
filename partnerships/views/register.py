"""Designations, the register of partnerships (ISSPs, sponsors, hubs, umbrella trusts), the ISSP board and the
chain grant calculator."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.permissions import schools_of
from partnerships import forms, queries, services
from partnerships.views.common import _my_schools, _query, _refused
from schoolpartners.access import public_read, school_or_trust_scoped
from schoolpartners.exports import Column, export_response
from schools.models import School


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
    posted = request.POST.get("school", "")
    if request.method == "POST" and posted.isdigit() and int(posted) not in {u for u, _ in schools}:
        raise PermissionDenied("You can only post for your own school.")
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
