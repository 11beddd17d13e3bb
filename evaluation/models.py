"""Stored results of `schoolpartners evaluation run` ("what works").

Pages and the API read these; nothing is estimated per request. A new run becomes the current run; older runs
are kept until replaced by `evaluation.services.run_national(keep=...)`.
"""

from __future__ import annotations

from django.db import models


class EvaluationRun(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    is_current = models.BooleanField(default=False, db_index=True)
    settings = models.JSONField(default=dict)  # engine Settings + window + measures
    description = models.TextField()
    families_source = models.CharField(max_length=120)  # "similarity run <id>" or "computed"
    counts = models.JSONField(default=dict)  # events found, dropped and why, per event type
    compute_seconds = models.FloatField(null=True, blank=True)
    total_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Evaluation run {self.pk}{' (current)' if self.is_current else ''}"


class EffectEstimate(models.Model):
    """One difference-in-differences effect of one event type on one measure for one group of treated schools."""

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="estimates")
    event_type = models.CharField(
        max_length=60, db_index=True
    )  # conversion | sponsor_change | support:<type>
    group = models.CharField(max_length=200)  # "all", "phase: primary", "type: converter", "trust: ..."
    group_kind = models.CharField(max_length=20)  # all | phase | type | type_phase | trust
    measure = models.CharField(max_length=40)
    effect = models.FloatField(null=True)
    ci_low = models.FloatField(null=True)
    ci_high = models.FloatField(null=True)
    n_treated = models.PositiveIntegerField()
    n_comparison = models.PositiveIntegerField()
    # {"-3": {"effect", "ci_low", "ci_high", "n"}, "-2": ..., "0": ..., "1": ..., "2": ...}; -1 is the reference
    leads = models.JSONField(default=dict)

    class Meta:
        ordering = ["event_type", "group_kind", "group", "measure"]
        constraints = [
            models.UniqueConstraint(fields=["run", "event_type", "group", "measure"], name="effect_unique")
        ]


class SchoolEvent(models.Model):
    """One treated school's event with its own before-and-after series against its family (for its page)."""

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="school_events")
    urn = models.PositiveIntegerField(db_index=True)  # the school's current (latest successor) URN
    event_type = models.CharField(max_length=60)
    date = models.DateField()
    predecessor = models.PositiveIntegerField(null=True, blank=True)
    detail = models.CharField(max_length=120, blank=True)  # conversion type or support type
    phase = models.CharField(max_length=20, blank=True)
    measure = models.CharField(max_length=40)  # the headline measure of the series
    last_pre = models.PositiveSmallIntegerField()
    first_post = models.PositiveSmallIntegerField()
    effect = models.FloatField(null=True)  # this school's own DiD (one school: no interval)
    n_comparison = models.PositiveIntegerField(default=0)  # eligible family members
    # [{"year", "value", "comparison", "n_comparison"}]
    series = models.JSONField(default=list)

    class Meta:
        ordering = ["urn", "date"]
        indexes = [models.Index(fields=["urn", "run"])]


class DesignEstimate(models.Model):
    """One credible design's effect for one group (issue 12), with its placebos, balance and counts.

    design: matched_did | pipeline | event_study. status: passed | failed | untested | not_enough; only a design
    that passed its placebos is headlined (``headline``), at most one per group.
    """

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="designs")
    event_type = models.CharField(max_length=60, db_index=True)
    group = models.CharField(max_length=200)
    group_kind = models.CharField(max_length=20)  # phase | type_phase
    design = models.CharField(max_length=20)
    measure = models.CharField(max_length=40)
    effect = models.FloatField(null=True)
    ci_low = models.FloatField(null=True)
    ci_high = models.FloatField(null=True)
    se = models.FloatField(null=True)
    n_treated = models.PositiveIntegerField(default=0)
    n_comparison = models.PositiveIntegerField(default=0)
    n_clusters = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=12)
    needed = models.PositiveIntegerField(default=0)
    headline = models.BooleanField(default=False)
    # {"rtm": {"effect", "ci_low", "ci_high", "n_treated", "covers_zero"}, "early": {...}}
    placebos = models.JSONField(default=dict)
    # [{"covariate", "treated_mean", "pool_mean", "matched_mean", "smd_before", "smd_after", "n_treated"}]
    balance = models.JSONField(default=list)
    # event study: {"-3": {"effect", "ci_low", "ci_high", "n"}, ...}; -1 is the reference
    leads = models.JSONField(default=dict)
    counts = models.JSONField(default=dict)  # events, with_results, matched, pseudo_events

    class Meta:
        ordering = ["event_type", "group_kind", "group", "design"]
        constraints = [
            models.UniqueConstraint(fields=["run", "event_type", "group", "design"], name="design_unique")
        ]
