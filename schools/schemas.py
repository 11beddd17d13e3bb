"""Request and response schemas of the public schools API (django-ninja / pydantic)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Schema
from pydantic import Field, field_validator

from schoolpartners.params import OptionalId
from schools.models import Phase, Status
from schools.queries import SORTS

SORT_CHOICES = sorted(SORTS)


def _blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


class SchoolSearchQuery(Schema):
    q: str = Field(
        "",
        max_length=200,
        description="Name, town, URN, LAESTAB, LA code, postcode or postcode district (words match word starts; "
        "punctuation and case are ignored)",
    )
    phase: Phase | None = Field(None, description="School phase")
    establishment_type: str = Field(
        "", max_length=80, description="Establishment type (exact, e.g. 'Academy converter')"
    )
    status: Status | None = Field(None, description="Register status")
    ofsted: str = Field("", max_length=40, description="Latest Ofsted judgement (exact, e.g. 'Good')")
    trust: OptionalId = Field(None, description="Partnership (trust) id: current members only")
    la: str = Field("", max_length=100, description="Local authority name or 3-digit code")
    region: str = Field("", max_length=100, description="Region name")
    sort: str = Field("name", description=f"Sort key, one of: {', '.join(SORT_CHOICES)}")
    order: Literal["asc", "desc"] = Field("asc", description="Sort direction")
    # page and page_size: schoolpartners.apikit.Paginated (1 to 200 per page)

    _blank = field_validator("phase", "status", "trust", mode="before")(_blank_to_none)

    @field_validator("sort")
    @classmethod
    def _sort_allowed(cls, value: str) -> str:
        value = value.strip() or "name"
        if value not in SORTS:
            raise ValueError(f"sort must be one of: {', '.join(SORT_CHOICES)}")
        return value


class SchoolSummary(Schema):
    urn: int
    name: str
    town: str
    postcode: str
    la_code: int | None
    la_name: str
    region_name: str
    phase: str
    establishment_type: str
    status: str
    ofsted_rating: str
    ofsted_date: dt.date | None
    pupils: int | None = None
    latitude: float | None
    longitude: float | None


class Address(Schema):
    street: str
    locality: str
    address3: str
    town: str
    postcode: str
    postcode_district: str


class Coordinates(Schema):
    latitude: float
    longitude: float
    source: str
    as_of: dt.date | None


class InspectionOut(Schema):
    date: dt.date
    rating: str
    source: str


class LatestOfsted(Schema):
    rating: str
    date: dt.date | None


class CensusOut(Schema):
    school_type: str
    nor: int | None
    nor_girls: int | None
    nor_boys: int | None
    pct_girls: float | None
    pct_boys: float | None
    sen_ehcp: int | None
    pct_sen_ehcp: float | None
    sen_support: int | None
    pct_sen_support: float | None
    eal: int | None
    english_first: int | None
    language_unclassified: int | None
    pct_eal: float | None
    pct_english_first: float | None
    pct_language_unclassified: float | None
    fsm: int | None
    fsm_ever: int | None
    nor_fsm_ever: int | None
    pct_fsm_ever: float | None
    source: str


class MembershipOut(Schema):
    partnership_id: int
    name: str
    kind: str
    external_id: str
    joined: dt.date | None
    left: dt.date | None
    current: bool
    source: str


class LinkOut(Schema):
    link_urn: int
    link_name: str
    link_type: str
    established: dt.date | None
    in_register: bool
    source: str


class Links(Schema):
    predecessors: list[LinkOut]
    successors: list[LinkOut]
    other: list[LinkOut]


class ResultValue(Schema):
    value: float | None = Field(
        description="None when suppressed or missing (see note); never 0 for a suppression"
    )
    note: str = Field(description="Suppression/missing code as published (SUPP, NP, NE, NA, LOWCOV, x) or ''")
    text: str = Field(description="Text of a categorical measure (progress band), else ''")
    national: float | None = Field(description="National figure for the measure and year, if known")


class SchoolDetail(Schema):
    urn: int
    name: str
    other_name: str
    la_code: int | None
    estab: int | None
    laestab: int | None
    la_name: str
    region_name: str
    telephone: str
    status: str
    open_date: dt.date | None
    close_date: dt.date | None
    establishment_type: str
    type_group: str
    minor_group: str
    phase: str
    age_low: int | None
    age_high: int | None
    gender: str
    religious_character: str
    admissions_policy: str
    register_source: str
    register_as_of: dt.date | None
    address: Address
    coordinates: Coordinates | None
    ofsted: LatestOfsted | None
    inspections: list[InspectionOut]
    census: dict[str, CensusOut] = Field(description="Keyed by year the academic year ends (2024 = 2023/24)")
    memberships: list[MembershipOut]
    links: Links
    results: dict[str, dict[str, ResultValue]] = Field(
        description="{year: {measure code: value}}; year is the year the academic year ends"
    )


class ResultRow(Schema):
    year: int
    academic_year: str
    measure: str
    label: str
    key_stage: int | None
    value: float | None
    note: str
    text: str
    national: float | None


class ResultList(Schema):
    urn: int
    count: int
    results: list[ResultRow]


class MeasureOut(Schema):
    code: str
    label: str
    key_stage: int
    unit: str
    higher_is_better: bool
    national_zero: bool
    weight_by: str | None
    headline: bool
    description: str
