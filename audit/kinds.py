"""Every kind of audit event, and whether it changes data that cached public pages show.

`audit.services.record(kind, ...)` accepts an `EventKind` member or the string value of one and refuses
anything else, so a new kind of write is added here first (with its `public` flag) and then recorded.

`public` kinds move the page-cache data version (`audit.version`) once their transaction commits: imports,
recomputes, membership and partnership changes, designations, ISSP posts, the support ledger (public report
data) and evaluation runs. Private kinds (notifications read, requests still in progress, brokerage
conversations) leave every cached public page in place.
"""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    # kernel / schools: one event per imported file (schools.importers.runner)
    IMPORT = "import"
    # notifications
    NOTIFICATIONS_READ = "notifications.read"
    NOTIFICATIONS_PREFERENCE = "notifications.preference"
    # partnerships: recomputes (management command) and register writes
    PARTNERSHIPS_MAP_MEMBERS = "partnerships.map_members"
    PARTNERSHIPS_RECOMPUTE = "partnerships.recompute"
    DESIGNATION_RECORDED = "partnerships.designation.recorded"
    ISSP_POSTED = "partnerships.issp.posted"
    ISSP_REGISTERED = "partnerships.issp.registered"
    SPONSOR_REGISTERED = "partnerships.sponsor.registered"
    TEACHING_HUB_REGISTERED = "partnerships.teaching_hub.registered"
    UMBRELLA_REGISTERED = "partnerships.umbrella.registered"
    # partnerships procedures: partnerships.<request kind>.<step>.<outcome> (services._step)
    JOIN_MAT_SUBMITTED = "partnerships.join_mat.request.submitted"
    JOIN_MAT_TRUST_CONSENTED = "partnerships.join_mat.trust_consent.consented"
    JOIN_MAT_TRUST_DECLINED = "partnerships.join_mat.trust_consent.declined"
    JOIN_MAT_APPROVED = "partnerships.join_mat.regional_approval.approved"
    JOIN_MAT_DECLINED = "partnerships.join_mat.regional_approval.declined"
    LEAVE_MAT_SUBMITTED = "partnerships.leave_mat.request.submitted"
    LEAVE_MAT_TRUST_CONSENTED = "partnerships.leave_mat.trust_consent.consented"
    LEAVE_MAT_TRUST_DECLINED = "partnerships.leave_mat.trust_consent.declined"
    LEAVE_MAT_APPROVED = "partnerships.leave_mat.regional_approval.approved"
    LEAVE_MAT_DECLINED = "partnerships.leave_mat.regional_approval.declined"
    FORM_FEDERATION_SUBMITTED = "partnerships.form_federation.request.submitted"
    FORM_FEDERATION_SCHOOL_CONSENTED = "partnerships.form_federation.school_consent.consented"
    FORM_FEDERATION_SCHOOL_DECLINED = "partnerships.form_federation.school_consent.declined"
    FORM_MAT_SUBMITTED = "partnerships.form_mat.request.submitted"
    FORM_MAT_SCHOOL_CONSENTED = "partnerships.form_mat.school_consent.consented"
    FORM_MAT_SCHOOL_DECLINED = "partnerships.form_mat.school_consent.declined"
    FORM_MAT_APPROVED = "partnerships.form_mat.regional_approval.approved"
    FORM_MAT_DECLINED = "partnerships.form_mat.regional_approval.declined"
    # similarity
    SIMILARITY_RECOMPUTE = "similarity.recompute"
    # brokerage
    BROKERAGE_DERIVE = "brokerage.derive"
    NEED_DECLARE = "brokerage.need.declare"
    OFFER_DECLARE = "brokerage.offer.declare"
    MATCHING_START = "brokerage.matching.start"
    MATCHING_DONE = "brokerage.matching.done"
    PROPOSAL_SEND = "brokerage.proposal.send"
    PROPOSAL_ACCEPT = "brokerage.proposal.accept"
    PROPOSAL_DECLINE = "brokerage.proposal.decline"
    DEPLOYMENT_ACTIVATE = "brokerage.deployment.activate"
    DEPLOYMENT_UPDATE = "brokerage.deployment.update"
    DEPLOYMENT_CLOSE = "brokerage.deployment.close"
    # support ledger
    SUPPORT_ACTIVITY_RECORDED = "support.activity.recorded"
    SUPPORT_BROKERED_DEPLOYMENT = "support.brokered_deployment"
    SUPPORT_PLEDGE_RECORDED = "support.pledge.recorded"
    SUPPORT_IMPORT = "support.import"
    # evaluation
    EVALUATION_RUN = "evaluation.run"

    @property
    def label(self) -> str:
        """What happened, in words people read (audit log, request histories)."""
        return LABELS[self]

    @property
    def public(self) -> bool:
        """True when an event of this kind changes data that a cached public page may show."""
        return self in PUBLIC

    @classmethod
    def parse(cls, kind: EventKind | str) -> EventKind:
        """The member for `kind` (a member or its string value); ValueError for an unregistered kind."""
        try:
            return cls(kind)
        except ValueError:
            raise ValueError(f"unknown audit event kind {kind!r}: add it to audit.kinds.EventKind") from None


LABELS: dict[EventKind, str] = {
    EventKind.IMPORT: "Data file imported",
    EventKind.NOTIFICATIONS_READ: "Notifications marked as read",
    EventKind.NOTIFICATIONS_PREFERENCE: "Notification emails changed",
    EventKind.PARTNERSHIPS_MAP_MEMBERS: "Trust members mapped",
    EventKind.PARTNERSHIPS_RECOMPUTE: "Trust figures recalculated",
    EventKind.DESIGNATION_RECORDED: "Designation recorded",
    EventKind.ISSP_POSTED: "Support request posted (ISSP)",
    EventKind.ISSP_REGISTERED: "Independent-state partnership registered",
    EventKind.SPONSOR_REGISTERED: "Sponsor registered",
    EventKind.TEACHING_HUB_REGISTERED: "Teaching school hub registered",
    EventKind.UMBRELLA_REGISTERED: "Umbrella trust registered",
    EventKind.JOIN_MAT_SUBMITTED: "Request to join a trust submitted",
    EventKind.JOIN_MAT_TRUST_CONSENTED: "Trust consented",
    EventKind.JOIN_MAT_TRUST_DECLINED: "Trust declined",
    EventKind.JOIN_MAT_APPROVED: "Regional director approved",
    EventKind.JOIN_MAT_DECLINED: "Regional director declined",
    EventKind.LEAVE_MAT_SUBMITTED: "Request to leave a trust submitted",
    EventKind.LEAVE_MAT_TRUST_CONSENTED: "Trust consented",
    EventKind.LEAVE_MAT_TRUST_DECLINED: "Trust declined",
    EventKind.LEAVE_MAT_APPROVED: "Regional director approved",
    EventKind.LEAVE_MAT_DECLINED: "Regional director declined",
    EventKind.FORM_FEDERATION_SUBMITTED: "Proposal to form a federation submitted",
    EventKind.FORM_FEDERATION_SCHOOL_CONSENTED: "School consented",
    EventKind.FORM_FEDERATION_SCHOOL_DECLINED: "School declined",
    EventKind.FORM_MAT_SUBMITTED: "Proposal to form a trust submitted",
    EventKind.FORM_MAT_SCHOOL_CONSENTED: "School consented",
    EventKind.FORM_MAT_SCHOOL_DECLINED: "School declined",
    EventKind.FORM_MAT_APPROVED: "Regional director approved",
    EventKind.FORM_MAT_DECLINED: "Regional director declined",
    EventKind.SIMILARITY_RECOMPUTE: "Similar schools recalculated",
    EventKind.BROKERAGE_DERIVE: "Needs and offers derived from data",
    EventKind.NEED_DECLARE: "Need declared",
    EventKind.OFFER_DECLARE: "Offer of support declared",
    EventKind.MATCHING_START: "Matching started",
    EventKind.MATCHING_DONE: "Matching finished",
    EventKind.PROPOSAL_SEND: "Proposal sent",
    EventKind.PROPOSAL_ACCEPT: "Proposal accepted",
    EventKind.PROPOSAL_DECLINE: "Proposal declined",
    EventKind.DEPLOYMENT_ACTIVATE: "Deployment started",
    EventKind.DEPLOYMENT_UPDATE: "Deployment updated",
    EventKind.DEPLOYMENT_CLOSE: "Deployment closed",
    EventKind.SUPPORT_ACTIVITY_RECORDED: "Support activity recorded",
    EventKind.SUPPORT_BROKERED_DEPLOYMENT: "Brokered deployment added to the support ledger",
    EventKind.SUPPORT_PLEDGE_RECORDED: "Support pledge recorded",
    EventKind.SUPPORT_IMPORT: "Support records imported",
    EventKind.EVALUATION_RUN: "Evaluation run",
}


def label_of(kind: str) -> str:
    """The words for a stored action code; an unknown code (a kind since removed) is shown as it is."""
    try:
        return LABELS[EventKind(kind)]
    except (ValueError, KeyError):
        return kind


def step_label(request_kind: str, step: str, outcome: str) -> str:
    """The words for one step of a partnership request (`RequestStep`): the label of its audit kind."""
    return label_of(f"partnerships.{request_kind}.{step}.{outcome}")


PUBLIC: frozenset[EventKind] = frozenset(
    {
        EventKind.IMPORT,
        EventKind.PARTNERSHIPS_MAP_MEMBERS,
        EventKind.PARTNERSHIPS_RECOMPUTE,
        EventKind.DESIGNATION_RECORDED,
        EventKind.ISSP_POSTED,
        EventKind.ISSP_REGISTERED,
        EventKind.SPONSOR_REGISTERED,
        EventKind.TEACHING_HUB_REGISTERED,
        EventKind.UMBRELLA_REGISTERED,
        # approvals open or close memberships; the last school's consent forms a federation
        EventKind.JOIN_MAT_APPROVED,
        EventKind.LEAVE_MAT_APPROVED,
        EventKind.FORM_MAT_APPROVED,
        EventKind.FORM_FEDERATION_SCHOOL_CONSENTED,
        EventKind.SIMILARITY_RECOMPUTE,
        EventKind.BROKERAGE_DERIVE,
        EventKind.SUPPORT_ACTIVITY_RECORDED,
        EventKind.SUPPORT_BROKERED_DEPLOYMENT,
        EventKind.SUPPORT_PLEDGE_RECORDED,
        EventKind.SUPPORT_IMPORT,
        EventKind.EVALUATION_RUN,
    }
)
