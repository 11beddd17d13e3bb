"""Formal partnerships (MATs, federations, hubs, ISSPs...) and their dated memberships.

The foundation issue loads multi-academy trusts and their current members from the DfE MAT performance
files; later issues add the other kinds and the join/leave procedures.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models


class Kind(models.TextChoices):
    MAT = "mat", "Multi-academy trust"
    SAT = "sat", "Single-academy trust"
    FEDERATION = "federation", "Federation"
    UMBRELLA = "umbrella", "Umbrella trust"
    SPONSOR = "sponsor", "Sponsor"
    TEACHING_HUB = "teaching_hub", "Teaching school hub"
    ISSP = "issp", "Independent–state school partnership"


class Partnership(models.Model):
    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    name = models.CharField(max_length=200, db_index=True)
    external_id = models.CharField(max_length=40, blank=True, help_text="e.g. DfE TRUST_ID such as TR00261")
    uid = models.CharField(max_length=20, blank=True, help_text="GIAS group UID")
    companies_house_number = models.CharField(max_length=20, blank=True)
    ukprn = models.CharField(max_length=20, blank=True)
    lead_region = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "external_id"],
                condition=~models.Q(external_id=""),
                name="partnership_kind_external_id",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="memberships")
    school = models.ForeignKey("schools.School", on_delete=models.CASCADE, related_name="memberships")
    joined = models.DateField(null=True, blank=True)
    left = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=120, blank=True)
    as_of = models.DateField(
        null=True, blank=True, help_text="date of the source that last confirmed this membership"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partnership", "school"],
                condition=models.Q(left__isnull=True),
                name="membership_one_open",
            )
        ]
        indexes = [models.Index(fields=["school", "left"])]


def current_q(on: dt.date, prefix: str = "") -> models.Q:
    """Memberships current on `on`: started by then (or no start recorded) and not yet ended."""
    return (models.Q(**{f"{prefix}joined__isnull": True}) | models.Q(**{f"{prefix}joined__lte": on})) & (
        models.Q(**{f"{prefix}left__isnull": True}) | models.Q(**{f"{prefix}left__gt": on})
    )


class PartnershipResult(models.Model):
    """A trust-level measure from the DfE MAT performance files (`year` = year the academic year ends)."""

    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="results")
    year = models.PositiveSmallIntegerField()
    measure = models.CharField(max_length=60)
    value = models.FloatField(null=True, blank=True)
    note = models.CharField(max_length=10, blank=True)
    source = models.CharField(max_length=120)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partnership", "year", "measure"], name="partnership_result_unique"
            )
        ]


# ---------------------------------------------------------------------------------------------------------------
# Partnerships issue: one MAT at a time, member -> results mapping, stored trust aggregates, procedures,
# designations and the ISSP register (notifications moved to the notifications app).
# ---------------------------------------------------------------------------------------------------------------
class MatSeat(models.Model):
    """A school's one open multi-academy-trust membership.

    The database cannot constrain "at most one open membership whose partnership is a MAT" on Membership itself
    (the kind lives on Partnership), so every open MAT membership also holds a seat, and the seat's primary key is
    the school: a second open MAT membership for the same school cannot get a seat. Services open and close seats
    with the membership; `partnerships recompute`/`map-members` re-sync seats with imported memberships.
    """

    school = models.OneToOneField(
        "schools.School", on_delete=models.CASCADE, primary_key=True, related_name="mat_seat"
    )
    membership = models.OneToOneField(Membership, on_delete=models.CASCADE, related_name="mat_seat")


class MappingMethod(models.TextChoices):
    DIRECT = "direct", "Directly (own URN)"
    LINK = "link", "Through one predecessor link"
    CHAIN = "chain", "Through a chain of predecessor links"
    NONE = "none", "Not found"


class MemberMapping(models.Model):
    """Which URN's results stand for a member school in one key stage and year.

    `urn` is the member's URN (from INSTITUTIONS_INMAT); `results_urn` is the URN itself when it has results, or
    the nearest predecessor (GIAS links whose type contains "Predecessor", chains followed, cycles guarded) that
    has results for that key stage and year; NULL when none has.
    """

    urn = models.PositiveIntegerField(db_index=True)
    key_stage = models.PositiveSmallIntegerField()
    year = models.PositiveSmallIntegerField()
    results_urn = models.PositiveIntegerField(null=True, blank=True)
    method = models.CharField(max_length=10, choices=MappingMethod.choices)
    hops = models.PositiveSmallIntegerField(default=0)
    path = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["urn", "key_stage", "year"], name="member_mapping_unique")
        ]


class TrustAggregate(models.Model):
    """Figures for one partnership, computed by `schoolpartners partnerships recompute` (never per request)."""

    partnership = models.OneToOneField(
        Partnership, on_delete=models.CASCADE, primary_key=True, related_name="aggregate"
    )
    computed_at = models.DateTimeField()
    members = models.PositiveIntegerField(default=0)
    pupils = models.PositiveIntegerField(null=True, blank=True)
    pupils_year = models.PositiveSmallIntegerField(null=True, blank=True)
    primary_members = models.PositiveIntegerField(default=0)
    secondary_members = models.PositiveIntegerField(default=0)
    main_phase = models.CharField(max_length=20, blank=True, db_index=True)
    main_region = models.CharField(max_length=100, blank=True, db_index=True)
    n_regions = models.PositiveSmallIntegerField(default=0)
    n_las = models.PositiveSmallIntegerField(default=0)
    phases = models.JSONField(default=dict)
    regions = models.JSONField(default=dict)
    las = models.JSONField(default=dict)
    ofsted = models.JSONField(default=dict)
    establishment_types = models.JSONField(default=dict)
    median_centroid_miles = models.FloatField(null=True, blank=True)
    max_centroid_miles = models.FloatField(null=True, blank=True)
    max_pair_miles = models.FloatField(null=True, blank=True)
    share_pairs_within_50 = models.FloatField(null=True, blank=True)
    located_members = models.PositiveIntegerField(default=0)
    centroid_lat = models.FloatField(null=True, blank=True)
    centroid_lon = models.FloatField(null=True, blank=True)
    compactness = models.CharField(max_length=20, blank=True, db_index=True)
    ks2_headline = models.FloatField(
        null=True, blank=True
    )  # latest KS2 mean progress (reading, writing, maths)
    ks2_headline_year = models.PositiveSmallIntegerField(null=True, blank=True)
    ks4_headline = models.FloatField(null=True, blank=True)  # latest Progress 8
    ks4_headline_year = models.PositiveSmallIntegerField(null=True, blank=True)
    performance = models.JSONField(
        default=list
    )  # [{key_stage, year, measure, mean, se, low, high, schools, pupils}]
    mapping = models.JSONField(default=dict)  # {"ks2": {"direct": n, "link": n, "chain": n, "none": n}, ...}
    member_rows = models.JSONField(
        default=list
    )  # per member: urn, name, phase, la, lat, lon, miles to centroid, since, since_basis...
    # {"three_years": [performance rows], "before_joining": [...], "since": {basis: n}, "weights": {"values": n,
    #  "cohort": n, "predecessor": n, "roll": n}} (partnerships/attribution.py); `performance` is "in_trust".
    attribution = models.JSONField(default=dict)


class RequestKind(models.TextChoices):
    JOIN_MAT = "join_mat", "Join a multi-academy trust"
    LEAVE_MAT = "leave_mat", "Leave a multi-academy trust"
    FORM_FEDERATION = "form_federation", "Form a federation"
    FORM_MAT = "form_mat", "Form a new multi-academy trust"


class RequestStatus(models.TextChoices):
    AWAITING_SCHOOLS = "awaiting_schools", "Waiting for the schools' consent"
    AWAITING_TRUST = "awaiting_trust", "Waiting for the trust board's consent"
    AWAITING_REGION = "awaiting_region", "Waiting for the regional director's approval"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"


class PartnershipRequest(models.Model):
    """One procedure (join, leave, form) as a state machine; every step is a row of RequestStep."""

    kind = models.CharField(max_length=20, choices=RequestKind.choices, db_index=True)
    status = models.CharField(max_length=20, choices=RequestStatus.choices, db_index=True)
    school = models.ForeignKey(
        "schools.School", null=True, blank=True, on_delete=models.CASCADE, related_name="partnership_requests"
    )
    partnership = models.ForeignKey(
        Partnership, null=True, blank=True, on_delete=models.CASCADE, related_name="requests"
    )
    new_name = models.CharField(
        max_length=200, blank=True, help_text="name of the federation or trust to form"
    )
    region = models.CharField(max_length=100, blank=True, help_text="region whose director approves")
    effective_date = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    decline_reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    result_partnership = models.ForeignKey(
        Partnership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]


class RequestSchool(models.Model):
    """A school taking part in a 'form' request, with its consent."""

    request = models.ForeignKey(PartnershipRequest, on_delete=models.CASCADE, related_name="schools")
    school = models.ForeignKey("schools.School", on_delete=models.CASCADE, related_name="+")
    consented_at = models.DateTimeField(null=True, blank=True)
    consented_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["request", "school"], name="request_school_unique")]


class RequestStep(models.Model):
    request = models.ForeignKey(PartnershipRequest, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(max_length=40)
    outcome = models.CharField(max_length=20)  # submitted, consented, approved, declined
    note = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]


class DesignationKind(models.TextChoices):
    NLE = "nle", "National Leader of Education"
    LLE = "lle", "Local Leader of Education"
    SLE = "sle", "Specialist Leader of Education"
    NSS = "nss", "National Support School"
    TEACHING_HUB = "teaching_hub", "Teaching school hub"
    SPONSOR = "sponsor", "Academy sponsor"


class Designation(models.Model):
    """A system-leadership designation or sponsor status, recorded by staff or a regional approver."""

    kind = models.CharField(max_length=20, choices=DesignationKind.choices, db_index=True)
    school = models.ForeignKey(
        "schools.School", null=True, blank=True, on_delete=models.CASCADE, related_name="designations"
    )
    person_name = models.CharField(max_length=200, blank=True)
    partnership = models.ForeignKey(
        Partnership,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="designations",
        help_text="the sponsor or hub as a partnership, when there is one",
    )
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    expertise = models.CharField(max_length=300, blank=True, help_text="areas of expertise, comma-separated")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "-valid_from"]
        constraints = [
            models.CheckConstraint(
                name="designation_has_holder",
                condition=models.Q(school__isnull=False) | ~models.Q(person_name=""),
            ),
        ]


class Activity(models.TextChoices):
    SUBJECT = "subject", "Subject teaching"
    EXAMS = "exams", "Exam preparation"
    GOVERNANCE = "governance", "Governance"
    TEACHER_TRAINING = "teacher_training", "Teacher training"
    SPORT = "sport", "Sport"
    ARTS = "arts", "Arts"
    UNIVERSITY = "university", "University access"
    OTHER = "other", "Other"


class IsspActivity(models.Model):
    """One activity of an independent-state school partnership (the schools involved are its memberships)."""

    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="activities")
    activity = models.CharField(max_length=20, choices=Activity.choices, db_index=True)
    description = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partnership", "activity"], name="issp_activity_unique")
        ]


class IsspPost(models.Model):
    """An independent school's offer or a state school's request for a partnership activity."""

    OFFER = "offer"
    REQUEST = "request"
    KINDS = [(OFFER, "Offer (independent school)"), (REQUEST, "Looking for (state school)")]

    kind = models.CharField(max_length=10, choices=KINDS, db_index=True)
    school = models.ForeignKey("schools.School", on_delete=models.CASCADE, related_name="issp_posts")
    activity = models.CharField(max_length=20, choices=Activity.choices, db_index=True)
    description = models.CharField(max_length=1000, blank=True)
    max_miles = models.PositiveSmallIntegerField(default=25)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
