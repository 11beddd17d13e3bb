"""Stored results of the national similarity recompute (`schoolpartners similarity recompute`).

Pages and the API read these; nothing is computed per request. Each run states exactly which method produced
it (`method` JSON, its hash and a one-line description). Per-school results are one row with JSON members, so a
school page is one indexed read. Re-running a method replaces that method's previous run (see
`similarity.services.recompute`), so rows never accumulate beyond one run per method.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class SimilarityRun(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    method = models.JSONField()
    method_hash = models.CharField(max_length=64, db_index=True)
    description = models.TextField()
    is_current = models.BooleanField(default=False, db_index=True, help_text="the run pages show by default")
    populations = models.JSONField(default=dict)  # {"primary": n, "secondary": n}
    excluded = models.JSONField(default=dict)  # {"primary": {"no headline": n, ...}, ...}
    feature_sd = models.JSONField(default=dict)  # {"primary": {"PNUMFSMEVER": sd, ...}, ...}
    source = models.JSONField(default=dict)  # how the input frames were built (counts, history, pupils)
    compute_seconds = models.FloatField(null=True, blank=True)  # core computation only
    total_seconds = models.FloatField(null=True, blank=True)  # read + compute + write

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Run {self.pk} [{self.method_hash}]{' (current)' if self.is_current else ''}"

    @property
    def method_obj(self) -> Any:
        from similarity.method import Method

        return Method.from_dict(self.method)


class SchoolSimilarity(models.Model):
    run = models.ForeignKey(SimilarityRun, on_delete=models.CASCADE, related_name="schools")
    school = models.ForeignKey("schools.School", on_delete=models.CASCADE, related_name="similarity")
    phase = models.CharField(max_length=20)
    headline = models.FloatField(null=True)
    pupils = models.FloatField(null=True, blank=True)  # n used for standard errors
    pupils_source = models.CharField(max_length=10, blank=True)  # year of the count, or "NOR"
    # {"PNUMFSMEVER": x, "PNUMEAL": x, "PSEN": x, "LOG_NOR": x, "NOR": n} (raw, before standardising)
    features = models.JSONField(default=dict)
    # {"urn": [...], "distance": [...], "miles": [...], "headline": [...]}: parallel lists, most similar first
    # (rank = position + 1); `members` gives (urn, distance, miles, headline) tuples
    family = models.JSONField(default=dict)
    # partner of the run's method (robust rule when the method is robust)
    partner = models.ForeignKey(
        "schools.School", null=True, blank=True, on_delete=models.SET_NULL, related_name="partner_of"
    )
    partner_miles = models.FloatField(null=True, blank=True)
    partner_within_radius = models.BooleanField(default=False)
    top_of_family = models.BooleanField(default=False)
    # both rules, always: {"default": {"urn", "miles", "within_radius", "top_of_family"}, "robust": {...}}
    partners = models.JSONField(default=dict)
    # {"MEASURE": {"value", "family_mean", "family_sd", "z", "percentile", "flag", "n"}}
    strengths = models.JSONField(default=dict)
    # [{"urn", "miles", "score", "gain_self", "gain_other", "we_learn": [...], "they_learn": [...]}]
    challenge_pairs = models.JSONField(default=list)
    # the school whose results were used when they are not the school's own (its results lineage, method.lineage)
    source_urn = models.PositiveIntegerField(null=True, blank=True)
    # {"path": [urn, ..., source], "link_types": [...]} when source_urn is set
    lineage = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "school"], name="similarity_run_school")]
        indexes = [models.Index(fields=["school", "run"])]

    @property
    def members(self) -> list[tuple[int, float, float, float]]:
        """The family as (urn, distance in feature space, miles, headline), most similar first."""
        f = self.family or {}
        return list(
            zip(
                f.get("urn", []),
                f.get("distance", []),
                f.get("miles", []),
                f.get("headline", []),
                strict=True,
            )
        )


class CoverageFigure(models.Model):
    run = models.ForeignKey(SimilarityRun, on_delete=models.CASCADE, related_name="coverage")
    phase = models.CharField(max_length=20)
    region = models.CharField(max_length=100, blank=True)  # "" = England
    radius_miles = models.PositiveSmallIntegerField()
    robust = models.BooleanField(default=False)
    schools = models.PositiveIntegerField()
    covered = models.PositiveIntegerField()
    percent = models.FloatField(null=True)

    class Meta:
        ordering = ["phase", "robust", "region", "radius_miles"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "phase", "region", "radius_miles", "robust"], name="coverage_unique"
            )
        ]


class LineageLink(models.Model):
    """An open school outside a run's population whose results lineage (GIAS links to the nearest predecessor
    in the run) reaches a school of the run: its pages show that school's family, partner and strengths, naming
    it. Written by the recompute with the run (`similarity.services.recompute`)."""

    run = models.ForeignKey(SimilarityRun, on_delete=models.CASCADE, related_name="lineage_links")
    school = models.ForeignKey("schools.School", on_delete=models.CASCADE, related_name="+")
    source = models.ForeignKey("schools.School", on_delete=models.CASCADE, related_name="+")
    path = models.JSONField(default=list)  # [school urn, ..., source urn]
    link_types = models.JSONField(default=list)  # the GIAS link followed at each step

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "school"], name="lineage_run_school")]
