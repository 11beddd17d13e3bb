"""Support ledger JSON API (mounted at /api/support in schoolpartners/api.py): activities, converter pledges and
their delivery, the 2014-survey style report, and the staff bulk import.

The same rules as the pages in `support/views.py`:
- the ledger (`/support/`, `@signed_in`): staff read every activity, a school user the activities their schools
  gave or received, a regional broker or approver those of their region, any other signed-in user is refused
  (403). Anonymous readers get an empty page (the API's
  convention for signed-in reads, as in the brokerage and partnerships routers); writes need a session (401).
- recording: staff, or a school user for an activity their own school provides / a pledge of their own academy
  (`support.services` checks; anyone else 403 and nothing changes);
- pledges and their monitoring (`/support/pledges/`, `@signed_in`): any signed-in user reads them;
- the report (`/support/report/`, `@public_read`): public and aggregate;
- the import (`/support/import/`, `@staff_only`): staff only; all or nothing (`support.importer`).
Errors are domain errors answered as problem bodies (schoolpartners/apikit.py); a `SupportError` becomes 409
(already recorded) or 422 naming the field (`_support_problem`).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, File, Query, Router, Schema
from ninja.files import UploadedFile

from jobs.api import JobOut, job_out
from partnerships.models import Membership
from schoolpartners.access import PUBLIC_READ, SIGNED_IN, STAFF
from schoolpartners.apikit import Problem, Rows, operation, paginated
from schoolpartners.errors import Conflict, DomainError, Invalid, TooLarge
from schoolpartners.params import OptionalId
from schoolpartners.uploads import megabytes
from support import queries, services
from support.importer import KINDS, ImportFailed, check_archive, import_file, should_run_as_job
from support.models import SupportActivity, SupportType
from support.tasks import failure, start_import, summary

REPORT_TABLES = {
    "overall": "Academies supporting other schools",
    "by_type": "Type of support given (share of supporting academies)",
    "by_phase": "Academies supporting other schools, by phase",
    "by_route": "Academies supporting other schools: converter and sponsored academies",
    "by_relationship": "Support activities: within the own trust, another trust, or a standalone school",
    "newly": "Schools supporting others that did not before converting",
}

router = Router(tags=["support"])


# ---------------------------------------------------------------------------------------------------- schemas
class ActivityOut(Schema):
    id: int
    recipient_urn: int
    recipient: str
    region: str
    provider_urns: list[int]
    system_leader: str
    support_type: str
    support_type_label: str
    start_date: dt.date
    end_date: dt.date | None
    days: float | None
    relationship: str
    outcome: str
    source: str
    external_ref: str


class ActivityQuery(Schema):
    provider: OptionalId = Field(None, description="URN of a provider school")
    recipient: OptionalId = Field(None, description="URN of the recipient school")
    type: SupportType | None = Field(None, description="support type code")
    region: str = Field("", description="region of the recipient school (case-insensitive)")
    trust: OptionalId = Field(
        None, description="partnership id: activities a current member gave or received"
    )


class ActivityIn(Schema):
    recipient_urn: int
    support_type: SupportType
    start_date: dt.date
    provider_urns: list[int] = Field(
        default_factory=list, description="the supporting school(s); yours unless staff"
    )
    system_leader: str = Field("", max_length=200, description="name of the NLE/LLE/SLE, if any")
    end_date: dt.date | None = None
    days: Decimal | None = Field(None, ge=0, max_digits=7, decimal_places=1)
    outcome: str = ""


class PledgeOut(Schema):
    academy_urn: int
    academy: str
    supported_urn: int
    supported: str
    pledge_date: dt.date
    region: str
    trust: str
    delivered: bool
    first_delivery: dt.date | None
    note: str


class PledgeQuery(Schema):
    academy: OptionalId = Field(None, description="URN of the pledging academy")
    supported: OptionalId = Field(None, description="URN of the school pledged support")
    region: str = Field("", description="region of the academy (case-insensitive)")
    trust: str = Field("", description="name of the academy's trust (case-insensitive); 'No trust' for none")
    delivered: bool | None = None


class PledgeIn(Schema):
    academy_urn: int
    supported_urn: int
    pledge_date: dt.date
    note: str = ""


class PledgeCreated(Schema):
    id: int
    academy_urn: int
    supported_urn: int
    pledge_date: dt.date
    note: str


class SummaryRow(Schema):
    name: str
    pledged: int
    delivered: int
    percent: float | None


class MonitoringOut(Schema):
    by_region: list[SummaryRow]
    by_trust: list[SummaryRow]


class ReportRow(Schema):
    name: str
    count: int
    base: int
    percent: float | None


class ReportTable(Schema):
    key: str
    title: str
    rows: list[ReportRow]


class ReportOut(Schema):
    tables: list[ReportTable]


class ImportKind(Schema):
    kind: str
    required: list[str]
    optional: list[str]


class ImportOut(Schema):
    file: str
    kind: str
    rows: int
    inserted: int
    updated: int
    unchanged: int


class ImportProblem(Problem):
    """A refused import: the problem body names the file, row (header = row 1), column and value when the
    file was read; a request without a file is refused with field errors only."""

    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None


# ---------------------------------------------------------------------------------------------------- helpers
def _signed_in(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_authenticated", False))


def _support_problem(exc: services.SupportError, fields: list[str], urns: dict[int, str]) -> DomainError:
    """A service's `SupportError` as a domain error: 409 when already recorded, else 422 naming the field."""
    msg = str(exc)
    if "already recorded" in msg:
        return Conflict(msg)
    return Invalid(msg, field=_field_of(msg, fields, urns))


def _field_of(msg: str, fields: list[str], urns: dict[int, str]) -> str:
    """The input field a `SupportError` message is about: a field named first, or the field holding the URN
    the message names; "__all__" otherwise."""
    for f in fields:
        if msg.startswith(f + " "):
            return f
    for urn, f in urns.items():
        if f"URN {urn} " in msg:
            return f
    return "__all__"


def _activity_out(a: SupportActivity) -> dict[str, Any]:
    return {
        "id": a.pk,
        "recipient_urn": a.recipient_id,
        "recipient": a.recipient.name,
        "region": a.recipient.region_name or "",
        "provider_urns": sorted(p.urn for p in a.providers.all()),
        "system_leader": a.system_leader,
        "support_type": a.support_type,
        "support_type_label": a.get_support_type_display(),
        "start_date": a.start_date,
        "end_date": a.end_date,
        "days": float(a.days) if a.days is not None else None,
        "relationship": a.relationship,
        "outcome": a.outcome,
        "source": a.source,
        "external_ref": a.external_ref,
    }


def _provided_by(urns: Any) -> Any:
    through = SupportActivity.providers.through.objects
    return through.filter(school_id__in=urns).values("supportactivity_id")


# ---------------------------------------------------------------------------------------------------- activities
@router.get(
    "/activities",
    **operation(
        SIGNED_IN,
        list[ActivityOut],
        summary="The support ledger",
        description="Support activities, newest first, filtered by provider URN, recipient URN, support "
        "type, region (of the recipient) and trust (partnership id: activities given or "
        "received by a current member); paginated (`count` is the total).",
        who="staff read every activity; a school user the activities their schools gave "
        "or received; a regional broker or approver those of their region; any other signed-in user "
        "gets 403; anonymous callers get an empty page "
        "(count 0). The same scope as the ledger page /support/.",
        problems=(403,),
    ),
)
@paginated(page_size=50, max_page_size=500)
def list_activities(request: HttpRequest, filters: Query[ActivityQuery]) -> Rows | list[Any]:
    if not _signed_in(request):
        return []
    qs = queries.activities_for(request.user)  # PermissionDenied: 403
    if filters.provider is not None:
        qs = qs.filter(id__in=_provided_by([filters.provider]))
    if filters.recipient is not None:
        qs = qs.filter(recipient_id=filters.recipient)
    if filters.type is not None:
        qs = qs.filter(support_type=filters.type)
    if filters.region:
        qs = qs.filter(recipient__region_name__iexact=filters.region)
    if filters.trust is not None:
        members = Membership.objects.filter(partnership_id=filters.trust, left__isnull=True).values(
            "school_id"
        )
        qs = qs.filter(Q(recipient_id__in=members) | Q(id__in=_provided_by(members)))
    return Rows(qs, convert=_activity_out)


@router.post(
    "/activities",
    **operation(
        SIGNED_IN,
        ActivityOut,
        summary="Record a support activity",
        description="Records one activity through `support.services.record_activity` (relationship derived "
        "from trust memberships on the start date; audit event). Invalid input: 422 naming the field; the "
        "same activity (recipient, type, start date, providers) already recorded: 409.",
        who="staff, or a school user recording support their own school provides (one of "
        "`provider_urns`); anyone else gets 403 and nothing changes; anonymous callers 401.",
        problems=(409,),
        write=True,
        status=201,
    ),
)
def post_activity(request: HttpRequest, payload: ActivityIn) -> Any:
    data = services.ActivityData(
        recipient_urn=payload.recipient_urn,
        support_type=str(payload.support_type.value),
        start_date=payload.start_date,
        provider_urns=list(payload.provider_urns),
        system_leader=payload.system_leader or "",
        end_date=payload.end_date,
        days=payload.days,
        outcome=payload.outcome or "",
    )
    try:
        act = services.record_activity(data, request.user)  # PermissionDenied: 403
    except services.SupportError as exc:
        msg = str(exc)
        if msg.startswith("give a provider") or (
            data.recipient_urn in data.provider_urns and msg.startswith("recipient_urn")
        ):
            raise Invalid(msg, field="provider_urns") from exc
        urns = {u: "provider_urns" for u in data.provider_urns}
        urns[data.recipient_urn] = "recipient_urn"
        raise _support_problem(exc, ["support_type", "recipient_urn", "end_date", "days"], urns) from exc
    return 201, _activity_out(act)


# ---------------------------------------------------------------------------------------------------- pledges
@router.get(
    "/pledges",
    **operation(
        SIGNED_IN,
        list[PledgeOut],
        summary="Converter pledges",
        description="Pledges with `delivered` (an activity from the academy to the named school starting on "
        "or after the pledge date) and the first matching activity's date; filtered by academy, supported "
        "school, region (of the academy), trust name and delivered; paginated.",
        who="any signed-in user reads every pledge (as on /support/pledges/); anonymous callers get an empty "
        "page (count 0).",
    ),
)
@paginated(page_size=50, max_page_size=500)
def list_pledges(request: HttpRequest, filters: Query[PledgeQuery]) -> list[dict[str, Any]]:
    if not _signed_in(request):
        return []
    rows = queries.pledge_rows()
    if filters.academy is not None:
        rows = [r for r in rows if r["academy_urn"] == filters.academy]
    if filters.supported is not None:
        rows = [r for r in rows if r["supported_urn"] == filters.supported]
    if filters.region:
        rows = [r for r in rows if r["region"].lower() == filters.region.lower()]
    if filters.trust:
        rows = [r for r in rows if r["trust"].lower() == filters.trust.lower()]
    if filters.delivered is not None:
        rows = [r for r in rows if r["delivered"] == filters.delivered]
    return rows


@router.post(
    "/pledges",
    **operation(
        SIGNED_IN,
        PledgeCreated,
        summary="Record a converter pledge",
        description="Records an academy's pledge to support a named school "
        "(`support.services.record_pledge`, audit "
        "event). Invalid input: 422 naming the field; the same pledge already recorded: 409.",
        who="staff, or a school user of the pledging academy (`academy_urn`); anyone else gets 403 "
        "and nothing changes; anonymous callers 401.",
        problems=(409,),
        write=True,
        status=201,
    ),
)
def post_pledge(request: HttpRequest, payload: PledgeIn) -> Any:
    try:
        p = services.record_pledge(  # PermissionDenied: 403
            payload.academy_urn, payload.supported_urn, payload.pledge_date, request.user, payload.note or ""
        )
    except services.SupportError as exc:
        if "itself" in str(exc):
            raise Invalid(str(exc), field="supported_urn") from exc
        urns = {payload.supported_urn: "supported_urn", payload.academy_urn: "academy_urn"}
        raise _support_problem(exc, [], urns) from exc
    return 201, {
        "id": p.pk,
        "academy_urn": p.academy_id,
        "supported_urn": p.supported_id,
        "pledge_date": p.pledge_date,
        "note": p.note,
    }


@router.get(
    "/pledges/monitoring",
    **operation(
        SIGNED_IN,
        MonitoringOut,
        summary="Pledged vs delivered",
        description="Pledged vs delivered, grouped by the academy's region and by its trust, each with an "
        "England row first (`percent` delivered, null when nothing was pledged).",
        who="any signed-in user (as on /support/pledges/); anonymous callers get empty tables.",
    ),
)
def pledge_monitoring(request: HttpRequest) -> dict[str, Any]:
    if not _signed_in(request):
        return {"by_region": [], "by_trust": []}
    rows = queries.pledge_rows()
    return {
        "by_region": queries.pledge_summary(rows, "region"),
        "by_trust": queries.pledge_summary(rows, "trust"),
    }


# ---------------------------------------------------------------------------------------------------- report
@router.get(
    "/report",
    **operation(
        PUBLIC_READ,
        ReportOut,
        summary="Survey-style report (2014 academies survey)",
        description="The tables of /support/report/: academies supporting other schools overall, by type of "
        "support, by phase, by route (converter / sponsored), activities by relationship (own trust, another "
        "trust, standalone school), and academies that did not support others before converting. Each row: "
        "`count` out of `base`, `percent`. Aggregate figures only.",
    ),
)
def report(request: HttpRequest) -> dict[str, Any]:
    rep = queries.survey_report()
    return {"tables": [{"key": k, "title": title, "rows": rep[k]} for k, title in REPORT_TABLES.items()]}


# ---------------------------------------------------------------------------------------------------- import
@router.get(
    "/import",
    **operation(
        PUBLIC_READ,
        list[ImportKind],
        summary="Import file formats",
        description="The file kinds POST /api/support/import accepts, recognised by their header: required "
        "and optional columns of each (docs/support-import.md).",
    ),
)
def import_formats(request: HttpRequest) -> list[dict[str, Any]]:
    return [{"kind": k, "required": list(req), "optional": list(opt)} for k, (req, opt) in KINDS.items()]


@router.post(
    "/import",
    **operation(
        STAFF,
        ImportOut,
        summary="Import a CSV or XLSX file",
        description="Multipart upload (`file`) of one CSV (UTF-8) or XLSX file of support activities, "
        "converter pledges or survey responses - the same importer as `schoolpartners support import`. The "
        "whole file is checked before anything is written and written in one transaction: on any error "
        "nothing is saved and the answer (422) names the file, row (header = row 1), column and value. "
        "Re-importing the same file changes nothing. Files over SUPPORT_IMPORT_MAX_BYTES (5 MB) answer 413 "
        "unread; more than SUPPORT_IMPORT_MAX_ROWS (50,000) rows, a cell over 131,072 characters or an XLSX "
        "that unpacks too far (a zip bomb) answer 422. A large file (over 1 MB or 500 rows) is imported in "
        "a background job: the answer is 202 with the job (poll `url`, GET /api/jobs/{id}).",
        who="signed-in staff users; other users get 403, anonymous callers 401.",
        problems={202: JobOut, 413: ImportProblem, 422: ImportProblem},
        write=True,
    ),
)
def post_import(request: HttpRequest, file: File[UploadedFile]) -> Any:
    user = request.user  # staff: checked by the STAFF policy's authentication (403 otherwise)
    name = Path(file.name or "upload").name
    where = {"file": name, "row": None, "column": "", "value": None}
    if Path(name).suffix.lower() not in (".csv", ".xlsx"):
        # checked here: the importer would name the temporary copy, not the uploaded file
        raise Invalid(f"{name}: only .csv and .xlsx files can be imported", extra=where)
    limit = settings.SUPPORT_IMPORT_MAX_BYTES
    if (file.size or 0) > limit:
        raise TooLarge(
            f"{name} is {megabytes(file.size or 0)}; the largest file accepted is {megabytes(limit)}. "
            "Nothing was saved.",
            extra=where,
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{Path(name).suffix.lower()}"
        with path.open("wb") as out:
            for chunk in file.chunks():
                out.write(chunk)
        try:
            if path.suffix == ".xlsx":
                check_archive(path, name)
            if should_run_as_job(path):
                job = start_import(path, user, name)
                return 202, job_out(job)
            rep = import_file(path, user, display_name=name)
        except ImportFailed as exc:
            raise Invalid(str(exc), extra=failure(exc)) from exc
    return summary(rep)
