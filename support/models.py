"""The support ledger: school-to-school support given (activities), converter pledges, and survey responses.

Every write goes through `support.services` (transaction + audit event). Brokered deployments land here through
`support.services.record_brokered_deployment`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SupportType(models.TextChoices):
    JPD = "jpd", "Joint practice development (e.g. lesson study)"
    MIDDLE_LEADERSHIP = "middle_leadership", "Developing middle leadership"
    CPD = "cpd", "CPD courses"
    SENIOR_LEADERSHIP = "senior_leadership", "Boosting senior leadership capacity"
    SYSTEM_LEADER = "system_leader", "Deploying an SLE/LLE/NLE"
    SECONDMENT = "secondment", "Seconding teachers or leaders"
    GOVERNANCE = "governance", "Reviewing governance"
    OTHER = "other", "Other"


class Relationship(models.TextChoices):
    SAME_TRUST = "same_trust", "Within the same trust"
    DIFFERENT_TRUST = "different_trust", "With a school in another trust"
    STANDALONE = "standalone", "With a standalone school"
    UNKNOWN = "unknown", "Not known"


class Source(models.TextChoices):
    MANUAL = "manual", "Recorded on the site"
    IMPORT = "import", "Bulk import"
    BROKERAGE = "brokerage", "Brokered deployment"


class SupportActivity(models.Model):
    providers = models.ManyToManyField("schools.School", blank=True, related_name="support_given")
    system_leader = models.CharField(max_length=200, blank=True, help_text="name of the NLE/LLE/SLE, if any")
    recipient = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="support_received")
    support_type = models.CharField(max_length=30, choices=SupportType.choices, db_index=True)
    start_date = models.DateField(db_index=True)
    end_date = models.DateField(null=True, blank=True)
    days = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    relationship = models.CharField(max_length=20, choices=Relationship.choices, default=Relationship.UNKNOWN)
    outcome = models.TextField(blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL)
    external_ref = models.CharField(max_length=80, blank=True, help_text="e.g. brokerage deployment id")
    # natural key: sorted provider URNs joined by "+", then "|" and the system leader's name (lower case)
    provider_key = models.CharField(max_length=300)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "support_type", "start_date", "provider_key"],
                name="support_activity_natural",
            ),
            models.CheckConstraint(name="support_provider_given", condition=~models.Q(provider_key="|")),
        ]

    def __str__(self) -> str:
        return f"{self.get_support_type_display()} for {self.recipient_id} from {self.start_date}"


class ConverterPledge(models.Model):
    academy = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="pledges_made")
    supported = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="pledges_received")
    pledge_date = models.DateField()
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pledge_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["academy", "supported", "pledge_date"], name="pledge_natural")
        ]


class SurveyResponse(models.Model):
    """One academy's answer to the academies survey (the DfE 2014 survey's questions on supporting others)."""

    school = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="survey_responses")
    survey_year = models.PositiveSmallIntegerField()
    supports_others = models.BooleanField()
    support_types = models.JSONField(default=list)  # SupportType codes
    supported_before_conversion = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school", "survey_year"], name="survey_natural")]
