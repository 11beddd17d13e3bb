"""Join, leave and form procedures. Every step is one function under `transaction.atomic` that checks the actor's
scoped role (accounts.permissions), locks the request row (`select_for_update`, so a step cannot be taken twice),
writes a RequestStep, one audit event and in-app notifications."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.models import Role
from accounts.permissions import can_act_for_school, can_act_for_trust, is_regional, require
from audit.services import record
from notifications.services import notify
from partnerships.models import (
    Kind,
    Membership,
    Partnership,
    PartnershipRequest,
    RequestKind,
    RequestSchool,
    RequestStatus,
    RequestStep,
)
from partnerships.queries import regional_approvers, school_users, trust_admins
from partnerships.services.common import ProcedureError, acting_user
from partnerships.services.figures import recompute_trust
from partnerships.services.seats import close_membership, open_mat_membership, open_membership
from schoolpartners.types import Actor, User
from schools.models import School


def _url(req: PartnershipRequest) -> str:
    return f"/partnerships/requests/{req.pk}/"


def _step(req: PartnershipRequest, step: str, outcome: str, actor: User, note: str = "") -> None:
    RequestStep.objects.create(request=req, step=step, outcome=outcome, actor=actor, note=note[:500])
    record(
        f"partnerships.{req.kind}.{step}.{outcome}",
        actor=actor,
        object_type="partnership_request",
        object_id=req.pk,
        data={
            "status": req.status,
            "school": req.school_id,
            "partnership": req.partnership_id,
            "region": req.region,
            "note": note[:500],
        },
    )


def _locked(request_id: int) -> PartnershipRequest:
    try:
        return PartnershipRequest.objects.select_for_update().get(pk=request_id)
    except PartnershipRequest.DoesNotExist as exc:
        raise ProcedureError("No such request.") from exc


def _expect(req: PartnershipRequest, *statuses: str) -> None:
    if req.status not in statuses:
        raise ProcedureError(
            f"This request is {req.get_status_display().lower()}; that step is not possible now."
        )


def _require_reason(approve: bool, reason: str) -> None:
    if not approve and not reason.strip():
        raise ProcedureError("Give a reason for declining.")


def _people(req: PartnershipRequest) -> list[User]:
    people: list[User] = []
    if req.school_id:
        people += school_users(req.school_id)
    for rs in req.schools.all():
        people += school_users(rs.school_id)
    if req.partnership_id:
        people += trust_admins(req.partnership_id)
    return people


def _refuse_if_request_in_progress(school: School) -> None:
    """One join or leave request at a time per school (the caller holds the school's row lock)."""
    if PartnershipRequest.objects.filter(
        school=school,
        kind__in=[RequestKind.JOIN_MAT, RequestKind.LEAVE_MAT],
        status__in=[RequestStatus.AWAITING_TRUST, RequestStatus.AWAITING_REGION],
    ).exists():
        raise ProcedureError(f"{school.name} already has a request in progress.")


def _refuse_past(effective_date: dt.date | None) -> None:
    """A request's proposed date cannot be in the past (issue 14): the forms say so first, the API here."""
    if effective_date is not None and effective_date < timezone.localdate():
        raise ProcedureError("The proposed date cannot be in the past.")


@transaction.atomic
def submit_join(
    user: Actor, school_urn: int, partnership_id: int, effective_date: dt.date, reason: str = ""
) -> PartnershipRequest:
    """Step 1 of joining a MAT: a user of that school asks. Refused when the school is already in a MAT."""
    require(can_act_for_school(user, school_urn), "You can only make requests for your own school.")
    _refuse_past(effective_date)
    user = acting_user(user)
    school = School.objects.select_for_update().get(pk=school_urn)
    trust = Partnership.objects.get(pk=partnership_id)
    if not school.region_name:
        raise ProcedureError(
            f"The region of {school.name} is not known, so no regional director can approve; "
            "contact the regional director's office."
        )
    if trust.kind != Kind.MAT:
        raise ProcedureError("Schools can only request to join a multi-academy trust here.")
    current = open_mat_membership(school)
    if current is not None:
        raise ProcedureError(
            f"{school.name} is already in {current.partnership.name}; it must leave that trust first."
        )
    _refuse_if_request_in_progress(school)
    req = PartnershipRequest.objects.create(
        kind=RequestKind.JOIN_MAT,
        status=RequestStatus.AWAITING_TRUST,
        school=school,
        partnership=trust,
        region=school.region_name,
        effective_date=effective_date,
        reason=reason[:500],
        created_by=user,
    )
    _step(req, "request", "submitted", user, reason)
    notify(
        trust_admins(trust.pk),
        f"{school.name} asks to join {trust.name}: the trust board's consent is needed.",
        _url(req),
    )
    return req


@transaction.atomic
def submit_leave(user: Actor, school_urn: int, effective_date: dt.date, reason: str) -> PartnershipRequest:
    """Step 1 of leaving a MAT by mutual consent: the academy asks (a reason is required)."""
    require(can_act_for_school(user, school_urn), "You can only make requests for your own school.")
    _refuse_past(effective_date)
    user = acting_user(user)
    school = School.objects.select_for_update().get(pk=school_urn)
    current = open_mat_membership(school)
    if current is None:
        raise ProcedureError(f"{school.name} is not in a multi-academy trust.")
    if not school.region_name:
        raise ProcedureError(
            f"The region of {school.name} is not known, so no regional director can approve."
        )
    if not reason.strip():
        raise ProcedureError("Give a reason for leaving.")
    _refuse_if_request_in_progress(school)
    req = PartnershipRequest.objects.create(
        kind=RequestKind.LEAVE_MAT,
        status=RequestStatus.AWAITING_TRUST,
        school=school,
        partnership=current.partnership,
        region=school.region_name,
        effective_date=effective_date,
        reason=reason[:500],
        created_by=user,
    )
    _step(req, "request", "submitted", user, reason)
    notify(
        trust_admins(current.partnership_id),
        f"{school.name} asks to leave {current.partnership.name}.",
        _url(req),
    )
    return req


@transaction.atomic
def trust_consent(user: Actor, request_id: int, consent: bool, reason: str = "") -> PartnershipRequest:
    """Step 2 (join and leave): the trust board of that MAT consents or declines (with a reason)."""
    req = _locked(request_id)
    require(
        req.partnership_id is not None and can_act_for_trust(user, req.partnership_id),
        "Only the trust's administrators can consent for the trust.",
    )
    user = acting_user(user)
    _expect(req, RequestStatus.AWAITING_TRUST)
    _require_reason(consent, reason)
    if consent:
        req.status = RequestStatus.AWAITING_REGION
        req.save(update_fields=["status"])
        _step(req, "trust_consent", "consented", user, reason)
        notify(
            regional_approvers(req.region),
            f"{req.get_kind_display()}: {req.school} and {req.partnership} "
            "need the regional director's approval.",
            _url(req),
        )
    else:
        _decline(req, user, "trust_consent", reason)
    notify(
        _people(req),
        f"The trust board {'consented to' if consent else 'declined'} the request "
        f"({req.get_kind_display().lower()}) for {req.school}.",
        _url(req),
    )
    return req


def _decline(req: PartnershipRequest, user: User, step: str, reason: str) -> None:
    req.status = RequestStatus.DECLINED
    req.decline_reason = reason[:500]
    req.decided_at = timezone.now()
    req.save(update_fields=["status", "decline_reason", "decided_at"])
    _step(req, step, "declined", user, reason)


@transaction.atomic
def regional_decision(
    user: Actor, request_id: int, approve: bool, reason: str = "", effective_date: dt.date | None = None
) -> PartnershipRequest:
    """Last step (join, leave, form a MAT): the regional approver for the school's region approves or declines.

    Approval makes the change on the effective date: join opens the membership (refused if the school is in
    another MAT by then), leave closes it with the date and reason, forming a MAT creates the trust and its
    memberships."""
    req = _locked(request_id)
    require(
        bool(req.region) and is_regional(user, Role.REGIONAL_APPROVER, req.region),
        "Only the regional director's office for this region can decide.",
    )
    user = acting_user(user)
    _expect(req, RequestStatus.AWAITING_REGION)
    _require_reason(approve, reason)
    if not approve:
        _decline(req, user, "regional_approval", reason)
        notify(
            _people(req),
            f"The regional director declined the request ({req.get_kind_display().lower()}).",
            _url(req),
        )
        return req
    when = effective_date or req.effective_date or timezone.localdate()
    req.effective_date = when
    if req.kind == RequestKind.JOIN_MAT:
        assert req.school is not None and req.partnership is not None
        open_membership(req.partnership, req.school, when, reason=f"Joined by consent (request {req.pk})")
        req.result_partnership = req.partnership
    elif req.kind == RequestKind.LEAVE_MAT:
        assert req.school is not None
        current = (
            Membership.objects.select_for_update()
            .filter(school=req.school, partnership=req.partnership, left__isnull=True)
            .first()
        )
        if current is None:
            raise ProcedureError("The school is no longer a member of this trust.")
        close_membership(current, when, f"Left by mutual consent (request {req.pk}): {req.reason}")
    elif req.kind == RequestKind.FORM_MAT:
        req.result_partnership = _create_partnership(req, Kind.MAT, when)
    else:
        raise ProcedureError("This kind of request needs no regional approval.")
    if req.kind in (RequestKind.JOIN_MAT, RequestKind.LEAVE_MAT) and req.partnership is not None:
        from partnerships.tasks import recompute_trust_on_commit  # the trust's figures, as a job (issue 13)

        recompute_trust_on_commit(req.partnership.pk, user)
    req.status = RequestStatus.APPROVED
    req.decided_at = timezone.now()
    req.save(update_fields=["status", "decided_at", "effective_date", "result_partnership"])
    _step(req, "regional_approval", "approved", user, reason)
    # The trust's counts, pupils, Ofsted mix and figures follow the membership in the same transaction.
    pid = req.result_partnership_id or req.partnership_id
    assert pid is not None
    recompute_trust(pid)
    notify(
        _people(req),
        f"The regional director approved the request ({req.get_kind_display().lower()}); "
        f"effective {when:%d %B %Y}.",
        _url(req),
    )
    return req


def _create_partnership(req: PartnershipRequest, kind: str, when: dt.date) -> Partnership:
    schools = [rs.school for rs in req.schools.select_related("school")]
    region = Counter(s.region_name for s in schools).most_common(1)[0][0] if schools else ""
    p = Partnership.objects.create(
        kind=kind, name=req.new_name, lead_region=region, source=f"School Partners request {req.pk}"
    )
    for s in schools:
        open_membership(p, s, when, reason=f"Founding member (request {req.pk})")
    return p


@transaction.atomic
def submit_form(
    user: Actor,
    kind: str,
    school_urns: list[int],
    name: str,
    effective_date: dt.date,
    reason: str = "",
    requesting_urn: int | None = None,
) -> PartnershipRequest:
    """Form a federation or a new MAT from several schools. The requesting school (the user's own) consents by
    asking; every other school must consent; a MAT then needs regional approval."""
    if kind not in (RequestKind.FORM_FEDERATION, RequestKind.FORM_MAT):
        raise ProcedureError("Unknown kind of partnership to form.")
    _refuse_past(effective_date)
    urns = sorted(set(school_urns))
    if requesting_urn is None:
        mine = [u for u in urns if can_act_for_school(user, u)]
        requesting_urn = mine[0] if mine else None
    require(
        requesting_urn is not None and requesting_urn in urns and can_act_for_school(user, requesting_urn),
        "You can only propose a partnership that includes your own school.",
    )
    user = acting_user(user)
    if len(urns) < 2:
        raise ProcedureError("A federation or trust needs at least two schools.")
    if not name.strip():
        raise ProcedureError("Give the new partnership a name.")
    schools = list(School.objects.filter(urn__in=urns))
    if len(schools) != len(urns):
        raise ProcedureError("Some URNs are not schools in the register.")
    if kind == RequestKind.FORM_MAT:
        for s in schools:
            current = open_mat_membership(s)
            if current is not None:
                raise ProcedureError(f"{s.name} is already in {current.partnership.name}.")
    requester = next(s for s in schools if s.urn == requesting_urn)
    req = PartnershipRequest.objects.create(
        kind=kind,
        status=RequestStatus.AWAITING_SCHOOLS,
        school=requester,
        new_name=name.strip()[:200],
        region=requester.region_name,
        effective_date=effective_date,
        reason=reason[:500],
        created_by=user,
    )
    now = timezone.now()
    RequestSchool.objects.bulk_create(
        [
            RequestSchool(
                request=req,
                school=s,
                consented_at=now if s.urn == requesting_urn else None,
                consented_by=user if s.urn == requesting_urn else None,
            )
            for s in schools
        ]
    )
    _step(req, "request", "submitted", user, reason)
    for s in schools:
        if s.urn != requesting_urn:
            notify(
                school_users(s.urn),
                f"{requester.name} proposes to form {req.new_name} "
                f"({req.get_kind_display().lower()}) with {s.name}: your consent is needed.",
                _url(req),
            )
    return req


@transaction.atomic
def school_consent(
    user: Actor, request_id: int, school_urn: int, consent: bool, reason: str = ""
) -> PartnershipRequest:
    """A school's consent to a proposed federation or MAT. The last consent forms a federation at once and sends
    a MAT to the regional director."""
    req = _locked(request_id)
    require(can_act_for_school(user, school_urn), "You can only consent for your own school.")
    user = acting_user(user)
    _expect(req, RequestStatus.AWAITING_SCHOOLS)
    rs = RequestSchool.objects.select_for_update().filter(request=req, school_id=school_urn).first()
    if rs is None:
        raise PermissionDenied("Your school is not part of this proposal.")
    if rs.consented_at is not None:
        raise ProcedureError("Your school has already consented.")
    _require_reason(consent, reason)
    if not consent:
        _decline(req, user, "school_consent", reason)
        notify(_people(req), f"{rs.school.name} declined to form {req.new_name}.", _url(req))
        return req
    rs.consented_at = timezone.now()
    rs.consented_by = user
    rs.save(update_fields=["consented_at", "consented_by"])
    _step(req, "school_consent", "consented", user, f"{rs.school.name}: {reason}")
    if not req.schools.filter(consented_at__isnull=True).exists():
        if req.kind == RequestKind.FORM_FEDERATION:
            req.result_partnership = _create_partnership(
                req, Kind.FEDERATION, req.effective_date or timezone.localdate()
            )
            req.status = RequestStatus.APPROVED
            req.decided_at = timezone.now()
            req.save(update_fields=["status", "decided_at", "result_partnership"])
            recompute_trust(req.result_partnership.pk)
            notify(_people(req), f"{req.new_name} is formed: every school consented.", _url(req))
        else:
            req.status = RequestStatus.AWAITING_REGION
            req.save(update_fields=["status"])
            notify(
                regional_approvers(req.region),
                f"Every school consented to form {req.new_name}: the regional director's approval is needed.",
                _url(req),
            )
    return req
