"""Support ledger pages: the ledger, recording an activity or a pledge, pledge monitoring, the survey-style
report and the staff upload page. Views validate input, call `support.services` / `support.importer`, render."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from schoolpartners.access import public_read, signed_in, staff_only
from schoolpartners.exports import export_response
from schoolpartners.uploads import megabytes
from support import queries, reference, services
from support.charts import bar_chart
from support.forms import ActivityForm, PledgeForm, UploadForm
from support.importer import ImportFailed, check_archive, import_file, should_run_as_job
from support.tasks import start_import

PLEDGE_COLUMNS = [
    ("academy_urn", "Academy URN"),
    ("academy", "Academy"),
    ("supported_urn", "Supported school URN"),
    ("supported", "Supported school"),
    ("pledge_date", "Pledge date"),
    ("region", "Region"),
    ("trust", "Trust"),
    ("delivered", "Delivered"),
    ("first_delivery", "First matching activity"),
]
SUMMARY_COLUMNS = [
    ("name", "Group"),
    ("pledged", "Pledged"),
    ("delivered", "Delivered"),
    ("percent", "% delivered"),
]
REPORT_COLUMNS = [
    ("name", "Group"),
    ("count", "Academies / activities"),
    ("base", "Out of"),
    ("percent", "%"),
    ("survey_2014", "DfE survey, July 2014 (%)"),
    ("survey_2014_groups", "DfE survey, July 2014, by group"),
]
REPORT_TABLES = {
    "overall": "Academies supporting other schools",
    "by_type": "Type of support given (share of supporting academies)",
    "by_phase": "Academies supporting other schools, by phase",
    "by_route": "Academies supporting other schools: converter and sponsored academies",
    "by_relationship": "Support activities: within the own trust, another trust, or a standalone school",
    "newly": "Schools supporting others that did not before converting",
}


def _errors(form: Any) -> list[tuple[str, str]]:
    return [
        (f"id_{name}" if name != "__all__" else "", e) for name, errs in form.errors.items() for e in errs
    ]


@signed_in
def ledger(request: HttpRequest) -> HttpResponse:
    try:
        acts = list(queries.activities_for(request.user)[:500])
    except PermissionDenied:
        acts = None
    return render(
        request,
        "support/ledger.html",
        {"activities": acts, "section": "support", "regions": queries.ledger_regions(request.user)},
    )


@signed_in
def record_activity(request: HttpRequest) -> HttpResponse:
    form = ActivityForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        c = form.cleaned_data
        data = services.ActivityData(
            recipient_urn=c["recipient_urn"],
            support_type=c["support_type"],
            start_date=c["start_date"],
            provider_urns=c["provider_urns"],
            system_leader=c["system_leader"] or "",
            end_date=c["end_date"],
            days=c["days"],
            outcome=c["outcome"] or "",
        )
        try:
            act = services.record_activity(data, request.user)
        except PermissionDenied as exc:
            return render(
                request, "support/record.html", {"form": form, "error": str(exc), "errors": []}, status=403
            )
        except services.SupportError as exc:
            error = str(exc)
        else:
            messages.success(
                request, f"Support recorded: {act.get_support_type_display()} for URN {act.recipient_id}."
            )
            return redirect("support:ledger")
    return render(
        request,
        "support/record.html",
        {"form": form, "error": error, "errors": _errors(form)},
        status=400 if (error or form.errors) else 200,
    )


@signed_in
def pledges(request: HttpRequest) -> HttpResponse:
    form = PledgeForm(request.POST or None)
    error = ""
    refused = False
    if request.method == "POST" and form.is_valid():
        c = form.cleaned_data
        try:
            services.record_pledge(
                c["academy_urn"], c["supported_urn"], c["pledge_date"], request.user, c["note"] or ""
            )
        except PermissionDenied as exc:
            error, refused = str(exc), True
        except services.SupportError as exc:
            error = str(exc)
        else:
            messages.success(request, "Pledge recorded.")
            return redirect("support:pledges")
    rows = queries.pledge_rows()
    ctx = {
        "form": form,
        "error": error,
        "errors": _errors(form),
        "rows": rows,
        "by_region": queries.pledge_summary(rows, "region"),
        "by_trust": queries.pledge_summary(rows, "trust"),
        "section": "support",
    }
    status = 403 if refused else 400 if (error or form.errors) else 200
    return render(request, "support/pledges.html", ctx, status=status)


@signed_in
def pledges_export(request: HttpRequest, table: str, fmt: str) -> HttpResponse | StreamingHttpResponse:
    rows = queries.pledge_rows()
    if table == "list":
        return export_response(rows, PLEDGE_COLUMNS, "pledges", fmt)
    if table in ("region", "trust"):
        return export_response(
            queries.pledge_summary(rows, table), SUMMARY_COLUMNS, f"pledges-by-{table}", fmt
        )
    raise Http404("unknown table")


@public_read
def report(request: HttpRequest) -> HttpResponse:
    rep = queries.report_beside_2014(queries.survey_report())
    tables = [
        {
            "key": k,
            "title": title,
            "rows": rep[k],
            "chart": bar_chart(rep[k], f"chart-{k}", title),
            "exports": {f: reverse("support:report-export", args=[k, f]) for f in ("csv", "xlsx")},
        }
        for k, title in REPORT_TABLES.items()
    ]
    return render(
        request,
        "support/report.html",
        {
            "tables": tables,
            "counts": queries.ledger_counts(),
            "survey_2014": reference.survey_2014(),
            "survey_source": reference.SOURCE,
            "survey_exports": {
                f: reverse("support:report-export", args=["dfe_survey", f]) for f in ("csv", "xlsx")
            },
        },
    )


@public_read
def report_export(request: HttpRequest, table: str, fmt: str) -> HttpResponse | StreamingHttpResponse:
    if table == "dfe_survey":
        return export_response(
            list(reference.survey_2014()), reference.COLUMNS, "dfe-academies-survey-2014", fmt
        )
    if table not in REPORT_TABLES:
        raise Http404("unknown table")
    rows = queries.report_beside_2014(queries.survey_report())[table]
    return export_response(rows, REPORT_COLUMNS, f"support-{table}", fmt)


@staff_only
def upload(request: HttpRequest) -> HttpResponse:
    """Small files are imported in the request; large ones (support.importer.should_run_as_job) are queued as
    a background job and the page redirects to the job's page. Over SUPPORT_IMPORT_MAX_BYTES: 413."""
    form = UploadForm(request.POST or None, request.FILES or None)
    error, report_, status = "", None, 200
    if request.method == "POST" and form.is_valid():
        f = form.cleaned_data["file"]
        name = Path(f.name).name
        if f.size > settings.SUPPORT_IMPORT_MAX_BYTES:
            error = (
                f"{name} is {megabytes(f.size)}; the largest file accepted is "
                f"{megabytes(settings.SUPPORT_IMPORT_MAX_BYTES)}. Nothing was saved."
            )
            status = 413
        else:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"upload{Path(name).suffix.lower()}"
                with path.open("wb") as out:
                    for chunk in f.chunks():
                        out.write(chunk)
                try:
                    if path.suffix == ".xlsx":
                        check_archive(path, name)
                    if path.suffix in (".csv", ".xlsx") and should_run_as_job(path):
                        job = start_import(path, request.user, name)
                        return redirect("jobs:job", job_id=job.pk)
                    report_ = import_file(path, request.user, display_name=name)
                except ImportFailed as exc:
                    error = str(exc)
    if status == 200 and (error or form.errors):
        status = 400
    return render(
        request,
        "support/upload.html",
        {"form": form, "error": error, "report": report_, "errors": _errors(form)},
        status=status,
    )
