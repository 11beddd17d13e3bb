"""The national register of schools and the facts loaded about them.

Every table records the source file that last wrote each row, so a reader can tell where a figure came from.
Results are stored long: one row per school, academic year and measure (see schools/measures.py), so later
features can look across years without schema changes.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from schools.search import SEARCH_FIELDS, search_fields


class Phase(models.TextChoices):
    NURSERY = "nursery", "Nursery"
    PRIMARY = "primary", "Primary"
    MIDDLE_PRIMARY = "middle_primary", "Middle deemed primary"
    MIDDLE_SECONDARY = "middle_secondary", "Middle deemed secondary"
    SECONDARY = "secondary", "Secondary"
    ALL_THROUGH = "all_through", "All-through"
    SIXTEEN_PLUS = "16_plus", "16 plus"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class Status(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"
    PENDING_CLOSURE = "pending_closure", "Open, proposed to close"
    PROPOSED_TO_OPEN = "proposed_to_open", "Proposed to open"


class LocalAuthority(models.Model):
    """LA code -> name -> region. Codes retired before 2024/25 (e.g. 909 Cumbria) are kept with `retired=True`."""

    code = models.PositiveSmallIntegerField(primary_key=True)
    name = models.CharField(max_length=100)
    region_code = models.CharField(max_length=10, blank=True)
    region_name = models.CharField(max_length=100, blank=True)
    retired = models.BooleanField(default=False)
    source = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class School(models.Model):
    """One establishment, keyed by URN. Identity comes from the newest register file that holds it."""

    urn = models.PositiveIntegerField(primary_key=True)
    name = models.CharField(max_length=200, db_index=True)
    other_name = models.CharField(max_length=200, blank=True)
    la_code = models.PositiveSmallIntegerField(null=True, blank=True, db_index=True)
    estab = models.PositiveSmallIntegerField(null=True, blank=True)
    laestab = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    la_name = models.CharField(max_length=100, blank=True, db_index=True)
    region_name = models.CharField(max_length=100, blank=True, db_index=True)

    street = models.CharField(max_length=200, blank=True)
    locality = models.CharField(max_length=200, blank=True)
    address3 = models.CharField(max_length=200, blank=True)
    town = models.CharField(max_length=100, blank=True, db_index=True)
    postcode = models.CharField(max_length=10, blank=True, db_index=True)
    postcode_district = models.CharField(max_length=5, blank=True, db_index=True)
    telephone = models.CharField(max_length=20, blank=True)

    status = models.CharField(max_length=20, choices=Status.choices, blank=True, db_index=True)
    open_date = models.DateField(null=True, blank=True)
    close_date = models.DateField(null=True, blank=True)
    is_new = models.BooleanField(null=True, blank=True)

    minor_group = models.CharField(max_length=40, blank=True, db_index=True)  # spine MINORGROUP
    establishment_type = models.CharField(max_length=80, blank=True, db_index=True)  # spine NFTYPE
    type_group = models.CharField(max_length=40, blank=True, db_index=True)  # derived, see importers
    phase = models.CharField(max_length=20, choices=Phase.choices, blank=True, db_index=True)
    is_primary = models.BooleanField(null=True, blank=True)
    is_secondary = models.BooleanField(null=True, blank=True)
    is_post16 = models.BooleanField(null=True, blank=True)
    age_low = models.PositiveSmallIntegerField(null=True, blank=True)
    age_high = models.PositiveSmallIntegerField(null=True, blank=True)
    gender = models.CharField(max_length=20, blank=True)
    sixth_form_gender = models.CharField(max_length=20, blank=True)
    religious_character = models.CharField(max_length=80, blank=True)
    admissions_policy = models.CharField(max_length=40, blank=True)

    register_source = models.CharField(max_length=120, blank=True)
    register_as_of = models.DateField(null=True, blank=True)
    # Where the school's row came from: "" the register files (GIAS, spine); "mat-files" an academy listed in the
    # DfE multi-academy trust files but absent from the register (see partnerships/importers.py).
    source = models.CharField(max_length=20, blank=True, default="", db_index=True)

    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    coord_source = models.CharField(max_length=120, blank=True)
    coord_as_of = models.DateField(null=True, blank=True)

    # Latest Ofsted judgement, maintained by the Ofsted importer from Inspection rows (for filter and sort).
    ofsted_rating = models.CharField(max_length=40, blank=True, db_index=True)
    ofsted_date = models.DateField(null=True, blank=True)

    # Derived search columns (schools/search.py): the normalised name and the text the full-text index holds.
    search_name = models.CharField(max_length=200, blank=True, default="", editable=False, db_index=True)
    search_text = models.TextField(blank=True, default="", editable=False)

    class Meta:
        ordering = ["name", "urn"]

    def __str__(self) -> str:
        return f"{self.name} ({self.urn})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_name, self.search_text = search_fields(
            self.name, self.other_name, self.town, self.postcode, self.postcode_district
        )
        fields = kwargs.get("update_fields")
        if fields is not None and set(fields) & set(SEARCH_FIELDS):
            kwargs["update_fields"] = {*fields, "search_name", "search_text"}
        super().save(*args, **kwargs)


class CensusRecord(models.Model):
    """School census (January) for one academic year. `year` is the year the academic year ends (2019 = 2018/19)."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="census")
    year = models.PositiveSmallIntegerField()
    school_type = models.CharField(max_length=60, blank=True, db_index=True)  # SCHOOLTYPE
    nor = models.PositiveIntegerField(null=True, blank=True)
    nor_girls = models.PositiveIntegerField(null=True, blank=True)
    nor_boys = models.PositiveIntegerField(null=True, blank=True)
    pct_girls = models.FloatField(null=True, blank=True)
    pct_boys = models.FloatField(null=True, blank=True)
    sen_ehcp = models.PositiveIntegerField(null=True, blank=True)  # TSENELSE
    pct_sen_ehcp = models.FloatField(null=True, blank=True)  # PSENELSE
    sen_support = models.PositiveIntegerField(null=True, blank=True)  # TSENELK
    pct_sen_support = models.FloatField(null=True, blank=True)  # PSENELK
    eal = models.PositiveIntegerField(null=True, blank=True)  # NUMEAL
    english_first = models.PositiveIntegerField(null=True, blank=True)  # NUMENGFL
    language_unclassified = models.PositiveIntegerField(null=True, blank=True)  # NUMUNCFL
    pct_eal = models.FloatField(null=True, blank=True)  # PNUMEAL
    pct_english_first = models.FloatField(null=True, blank=True)  # PNUMENGFL
    pct_language_unclassified = models.FloatField(null=True, blank=True)  # PNUMUNCFL / PNUMUNCLF
    fsm = models.PositiveIntegerField(null=True, blank=True)  # NUMFSM
    fsm_ever = models.PositiveIntegerField(null=True, blank=True)  # NUMFSMEVER
    nor_fsm_ever = models.PositiveIntegerField(null=True, blank=True)  # NORFSMEVER (2024/25 only)
    pct_fsm_ever = models.FloatField(null=True, blank=True)  # PNUMFSMEVER
    source = models.CharField(max_length=120)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school", "year"], name="census_school_year")]
        indexes = [models.Index(fields=["year", "school_type"])]


class Result(models.Model):
    """One published measure for one school and academic year (`year` = year the academic year ends).

    `value` is NULL when the file held a suppression/missing code; the code is kept in `note`
    (SUPP, NP, NE, NA, LOWCOV, x). Categorical measures (progress bands) keep their text in `text`.
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="results")
    year = models.PositiveSmallIntegerField()
    measure = models.CharField(max_length=40)
    value = models.FloatField(null=True, blank=True)
    text = models.CharField(max_length=60, blank=True)
    note = models.CharField(max_length=10, blank=True)
    source = models.CharField(max_length=120)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["school", "year", "measure"], name="result_school_year_measure")
        ]
        indexes = [models.Index(fields=["measure", "year", "value"])]


class NationalAverage(models.Model):
    """National figure for a measure and year, computed by the importer from the school file (method in `method`)."""

    year = models.PositiveSmallIntegerField()
    measure = models.CharField(max_length=40)
    value = models.FloatField(null=True, blank=True)
    schools = models.PositiveIntegerField(default=0)
    method = models.CharField(max_length=200)
    source = models.CharField(max_length=120)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["year", "measure"], name="national_year_measure")]


class Inspection(models.Model):
    """One Ofsted inspection judgement."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="inspections")
    date = models.DateField()
    rating = models.CharField(max_length=40)
    source = models.CharField(max_length=120)

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["school", "date", "rating"], name="inspection_school_date_rating")
        ]


class SchoolLink(models.Model):
    """A GIAS predecessor/successor link. URNs are plain integers: a linked URN need not be in the register."""

    urn = models.PositiveIntegerField(db_index=True)
    link_urn = models.PositiveIntegerField(db_index=True)
    link_name = models.CharField(max_length=200, blank=True)
    link_type = models.CharField(
        max_length=100
    )  # GIAS has types up to 62 chars ("Merged - expansion in ...")
    established = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=120)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["urn", "link_urn", "link_type"], name="link_unique")]


class ImportRun(models.Model):
    """One run of `schoolpartners import` over one file, with its summary."""

    kind = models.CharField(max_length=40)
    path = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    rows_read = models.PositiveIntegerField(default=0)
    inserted = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    details = models.JSONField(
        default=dict, blank=True
    )  # extra counts, e.g. coordinates or memberships written

    class Meta:
        ordering = ["-started_at"]
