"""Brokerage: needs for support, offers of support, matching runs, proposals and deployments.

Workflow: a broker (BROKER role for a region) runs a matching for the region (`MatchingRun`, one
`MatchResult` per need with the engine's reason, alternatives and, when unmatched, why); sends proposals
(`Proposal`); the school in need and the supporter (its school users, or the system leader for their own
offer) each accept or decline; when both accept, a `Deployment` becomes active, reserving one place of the
offer's capacity (reserved atomically, see `brokerage.services.respond`); the broker closes it with an outcome.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Area(models.TextChoices):
    LEADERSHIP = "leadership", "Leadership"
    GOVERNANCE = "governance", "Governance"
    ENGLISH = "english", "English"
    MATHS = "maths", "Maths"
    SEND = "send", "SEND"
    BEHAVIOUR = "behaviour_attendance", "Behaviour and attendance"
    CURRICULUM = "curriculum", "Curriculum"
    EARLY_YEARS = "early_years", "Early years"
    FINANCE = "finance_operations", "Finance and operations"


AREA_INDEX = {a.value: i for i, a in enumerate(Area)}


class Severity(models.IntegerChoices):
    LOW = 1, "Low"
    MEDIUM = 2, "Medium"
    HIGH = 3, "High"


# Bounds of what a user may enter, shared by the forms (brokerage/forms.py) and the API schemas
# (brokerage/api.py): one validation, a form error on pages, 422 on the API, never a database error.
SEVERITY_MIN, SEVERITY_MAX = min(Severity.values), max(Severity.values)
CAPACITY_MIN, CAPACITY_MAX = 1, 20  # schools an offer supports at a time
MAX_MILES_MIN, MAX_MILES_MAX = 1, 1000  # an offer's furthest travel distance (Great Britain fits in 1000)
RADIUS_MIN, RADIUS_MAX = 1, 400  # a matching run's largest radius ("what if")
DAYS_MIN, DAYS_MAX = 0, 365  # days of support of a deployment
EXTRA_PLACES_MIN, EXTRA_PLACES_MAX = -CAPACITY_MAX, CAPACITY_MAX  # a "what if" change of an offer's capacity


class Need(models.Model):
    class Source(models.TextChoices):
        DATA = "data", "Identified from data"
        DECLARED = "declared", "Declared by the school"

    school = models.ForeignKey("schools.School", on_delete=models.CASCADE, related_name="brokerage_needs")
    area = models.CharField(max_length=30, choices=Area.choices)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.MEDIUM)
    source = models.CharField(max_length=10, choices=Source.choices)
    evidence = models.TextField(blank=True)
    is_open = models.BooleanField(default=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-severity", "school_id", "area"]
        constraints = [
            models.UniqueConstraint(fields=["school", "area", "source"], name="need_school_area_source")
        ]

    def __str__(self) -> str:
        return f"{self.school_id} needs {self.get_area_display()} ({self.get_severity_display()})"


class Designation(models.TextChoices):
    NONE = "", "School (no designation)"
    NLE = "nle", "National leader of education"
    LLE = "lle", "Local leader of education"
    SLE = "sle", "Specialist leader of education"


class Offer(models.Model):
    class Source(models.TextChoices):
        DEFAULT = "default", "Default offer derived from data"
        DECLARED = "declared", "Declared"

    school = models.ForeignKey("schools.School", on_delete=models.CASCADE, related_name="brokerage_offers")
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="brokerage_offers",
        help_text="the system leader who makes this offer (their school is `school`); empty for a school offer",
    )
    designation = models.CharField(max_length=5, choices=Designation.choices, blank=True)
    areas = models.JSONField(default=list)  # [Area values]
    phases = models.JSONField(default=list)  # ["primary", "secondary"]
    capacity = models.PositiveSmallIntegerField(default=2)
    max_miles = models.FloatField(
        null=True, blank=True, help_text="maximum travel distance; empty = no limit"
    )
    available_from = models.DateField(null=True, blank=True)
    available_to = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.DECLARED)
    is_active = models.BooleanField(default=True, db_index=True)
    evidence = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["school_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["school"], condition=models.Q(source="default"), name="offer_one_default_per_school"
            )
        ]

    def __str__(self) -> str:
        who = f"{self.get_designation_display()} at " if self.designation else ""
        return f"Offer {self.pk}: {who}{self.school_id}"


class MatchingRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    region = models.CharField(max_length=100, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    params = models.JSONField(default=dict)  # engine Params + what-if settings, as submitted
    what_if = models.BooleanField(default=False)
    summary = models.JSONField(default=dict)  # needs, served, arcs, cost, timings
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Matching {self.pk} for {self.region}"


class MatchResult(models.Model):
    run = models.ForeignKey(MatchingRun, on_delete=models.CASCADE, related_name="results")
    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="match_results")
    offer = models.ForeignKey(
        Offer, null=True, blank=True, on_delete=models.SET_NULL, related_name="match_results"
    )
    miles = models.FloatField(null=True, blank=True)
    cost = models.IntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    alternatives = models.JSONField(default=list)  # [{"offer", "school", "name", "miles", "cost"}]
    unmatched_reason = models.CharField(max_length=20, blank=True)
    nearest_miles = models.FloatField(null=True, blank=True)  # nearest compatible offer, ignoring capacity

    class Meta:
        ordering = ["run_id", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "need"], name="match_result_run_need")]


class Response(models.TextChoices):
    PENDING = "pending", "Awaiting response"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"


class Proposal(models.Model):
    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        ACCEPTED = "accepted", "Accepted by both"
        DECLINED = "declined", "Declined"

    run = models.ForeignKey(
        MatchingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals"
    )
    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="proposals")
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="proposals")
    reason = models.TextField(blank=True)
    miles = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENT, db_index=True)
    need_response = models.CharField(max_length=10, choices=Response.choices, default=Response.PENDING)
    offer_response = models.CharField(max_length=10, choices=Response.choices, default=Response.PENDING)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["need", "offer"], condition=models.Q(status="sent"), name="proposal_one_open_per_pair"
            )
        ]


class SupportType(models.TextChoices):
    JPD = "jpd", "Joint practice development"
    MIDDLE_LEADERS = "middle_leaders", "Developing middle leaders"
    CPD = "cpd", "CPD courses"
    SENIOR_LEADERSHIP = "senior_leadership", "Boosting senior leadership"
    SYSTEM_LEADER = "system_leader", "Deploying an NLE/LLE/SLE"
    SECONDMENT = "secondment", "Seconding staff"
    GOVERNANCE_REVIEW = "governance_review", "Reviewing governance"


class Deployment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"

    proposal = models.OneToOneField(Proposal, on_delete=models.CASCADE, related_name="deployment")
    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="deployments")
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="deployments")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    support_type = models.CharField(max_length=20, choices=SupportType.choices, default=SupportType.JPD)
    days = models.PositiveSmallIntegerField(null=True, blank=True)
    start = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True)
    outcome = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["offer", "status"])]
