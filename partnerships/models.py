"""Formal partnerships (MATs, federations, hubs, ISSPs...) and their dated memberships.

The foundation issue loads multi-academy trusts and their current members from the DfE MAT performance
files; later issues add the other kinds and the join/leave procedures.
"""

from __future__ import annotations

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
                fields=["kind", "external_id"], condition=~models.Q(external_id=""), name="partnership_kind_external_id"
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
    as_of = models.DateField(null=True, blank=True, help_text="date of the source that last confirmed this membership")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partnership", "school"], condition=models.Q(left__isnull=True), name="membership_one_open"
            )
        ]
        indexes = [models.Index(fields=["school", "left"])]


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
            models.UniqueConstraint(fields=["partnership", "year", "measure"], name="partnership_result_unique")
        ]
