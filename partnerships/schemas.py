"""Request and response schemas of the partnerships JSON API (partnerships/api.py; django-ninja / pydantic)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema

from schoolpartners.params import FreeText, OptionalCount, OptionalId, SingleLine


class TrustRow(Schema):
    id: int
    name: str
    kind: str
    external_id: str
    members: int
    pupils: int | None
    main_region: str
    main_phase: str
    n_regions: int
    n_las: int
    ks2_headline: float | None
    ks2_headline_year: int | None
    ks4_headline: float | None
    ks4_headline_year: int | None
    compactness: str
    max_pair_miles: float | None
    median_centroid_miles: float | None
    share_pairs_within_50: float | None


class PerformanceOut(Schema):
    key_stage: int
    year: int
    measure: str
    mean: float
    se: float | None
    low: float | None
    high: float | None
    schools: int
    pupils: int
    boot_low: float | None = None  # bootstrap 95% interval over member schools (partnerships/attribution.py)
    boot_high: float | None = None
    weights: dict[str, int] | None = (
        None  # values weighted by own cohort, a predecessor's cohort, census roll
    )


class AttributionOut(Schema):
    """Figures under the other attribution rules and how the since dates and weights were found."""

    three_years: list[PerformanceOut] = []
    before_joining: list[PerformanceOut] = []
    since: dict[str, int] = {}
    weights: dict[str, int] = {}


class DfeMeasure(Schema):
    measure: str
    year: int
    value: float | None
    note: str


class TrustDetail(TrustRow):
    computed_at: dt.datetime | None
    pupils_year: int | None
    phases: dict[str, int]
    regions: dict[str, int]
    local_authorities: dict[str, int]
    ofsted: dict[str, int]
    establishment_types: dict[str, int]
    max_centroid_miles: float | None
    centroid_lat: float | None
    centroid_lon: float | None
    mapping: dict[str, dict[str, int]]
    performance: list[PerformanceOut]
    attribution: AttributionOut | None = None
    dfe_measures: list[DfeMeasure]


class MemberOut(Schema):
    urn: int
    name: str
    phase: str | None = None
    la: str | None = None
    region: str | None = None
    type: str | None = None
    ofsted: str | None = None
    pupils: int | None = None
    lat: float | None = None
    lon: float | None = None
    miles_to_centroid: float | None = None
    ks2_results_urn: int | None = None
    ks4_results_urn: int | None = None
    since: str | None = None  # "in this trust since" (ISO date)
    since_basis: str | None = None
    source: str | None = None  # "mat-files": created from the MAT files (not in the register)


class MappingRow(Schema):
    key_stage: int
    year: int
    members: int
    direct: int
    link: int
    chain: int
    found: int
    none: int
    not_in_register: int
    found_pct: float | None
    basis: str


class GrantLineOut(Schema):
    urn: int | None
    name: str
    pupils: int | None
    band: str
    amount: int


class GrantOut(Schema):
    per_chain: int
    lines: list[GrantLineOut]
    total: int
    small_schools: int
    medium_schools: int


class IsspSchool(Schema):
    urn: int
    name: str
    la: str


class IsspPartnershipOut(Schema):
    id: int
    name: str
    activities: list[str]
    schools: list[IsspSchool]
    miles: float | None


class IsspPostOut(Schema):
    id: int
    kind: str
    activity: str
    description: str
    school: IsspSchool
    miles: float | None


class IsspOut(Schema):
    partnerships: list[IsspPartnershipOut]
    posts: list[IsspPostOut]


class StepOut(Schema):
    step: str
    outcome: str
    note: str
    at: dt.datetime


class RequestOut(Schema):
    id: int
    kind: str
    status: str
    school_urn: int | None
    partnership_id: int | None
    new_name: str
    region: str
    effective_date: dt.date | None
    reason: str
    decline_reason: str
    result_partnership_id: int | None
    schools: list[int]
    steps: list[StepOut]


class RequestIn(Schema):
    kind: Literal["join_mat", "leave_mat", "form_federation", "form_mat"]
    school_urn: int = Field(..., description="your own school (for forming: it consents by proposing)")
    partnership_id: int | None = Field(None, description="join_mat: the trust to join")
    other_urns: list[int] = Field(default_factory=list, description="form_*: the other schools")
    name: SingleLine = Field("", description="form_*: name of the new federation or trust (one line)")
    effective_date: dt.date
    reason: FreeText = Field("", description="required for leave_mat")


class DecisionIn(Schema):
    step: Literal["trust", "region", "school"] = Field(
        ...,
        description="trust: the trust board's consent; region: "
        "the regional director's decision; school: a school's consent",
    )
    approve: bool
    reason: FreeText = Field("", description="required when declining")
    school_urn: int | None = Field(None, description="step school: the consenting school (yours)")


class CompareQuery(Schema):
    q: str = ""
    kind: str = ""
    region: str = ""
    phase: str = ""
    compactness: str = ""
    min_members: OptionalCount = None
    max_members: OptionalCount = None
    sort: Literal[
        "name", "members", "pupils", "region", "phase", "ks2", "ks4", "compactness", "max_pair", "las"
    ] = "members"
    order: Literal["asc", "desc"] = "desc"


class GrantQuery(Schema):
    urns: str = Field(
        "",
        description="comma-separated URNs of the primary schools forming or joining the chain "
        "(none: the per-chain amount alone)",
    )


class IsspQuery(Schema):
    activity: Literal[
        "", "subject", "exams", "governance", "teacher_training", "sport", "arts", "university", "other"
    ] = ""
    la: str = ""
    region: str = ""
    postcode: str = ""
    urn: OptionalId = None
    miles: float | None = Field(None, ge=0, le=500)


DesignationKindCode = Literal["nle", "lle", "sle", "nss", "teaching_hub", "sponsor"]


class DesignationOut(Schema):
    id: int
    kind: str
    kind_label: str
    school_urn: int | None
    school_name: str
    region: str
    person_name: str
    partnership_id: int | None
    valid_from: dt.date
    valid_to: dt.date | None
    expertise: str


class DesignationQuery(Schema):
    kind: Literal["", "nle", "lle", "sle", "nss", "teaching_hub", "sponsor"] = ""
    region: str = Field("", description="the school's region (exact, case-insensitive)")
    urn: OptionalId = Field(None, description="the school's URN")


class DesignationIn(Schema):
    kind: DesignationKindCode
    valid_from: dt.date
    school_urn: int | None = Field(None, description="the designated school (or name a person)")
    person_name: SingleLine = Field(
        "", max_length=200, description="the designated person (or give a school)"
    )
    valid_to: dt.date | None = None
    expertise: str = Field("", max_length=300, description="areas of expertise, comma-separated")
    partnership_id: int | None = Field(
        None, description="the sponsor or hub as a partnership, when there is one"
    )


# ---------------------------------------------------------------------------------------------------------------
# The DfE trust measures in plain words (partnerships/dfe_measures.py, partnerships/trust_measures.py)
# ---------------------------------------------------------------------------------------------------------------
class TrustMeasureOut(Schema):
    key: str = Field(..., description="stable key of the measure, e.g. ks2_rwm_expected")
    code: str = Field(..., description="stored code: key stage prefix + DfE field, e.g. KS2_PRWM_EXP_WGTAVG")
    key_stage: int
    label: str = Field(..., description="the measure in plain words")
    description: str = Field(..., description="the DfE's description of the field")
    group: Literal["all", "disadvantaged", "other"]
    group_label: str
    unit: Literal["percent", "points"]
    year: int = Field(..., description="year the academic year ends (2025 = 2024/25)")
    academic_year: str
    value: float | None
    note: str = Field(..., description="the file's code for a missing value (SUPPMAT, NELIG, ...)")
    pupils: int | None = Field(None, description="pupils of the group (group: pupils x published share)")
    low: float | None = Field(None, description="95% interval low (Wilson, percentages only)")
    high: float | None = Field(None, description="95% interval high")
    interval_note: str = Field(..., description="why there is no interval, when there is none")
    england: float | None = Field(None, description="pupil-weighted figure of all trusts in the DfE file")
    difference: float | None = Field(None, description="value minus England")
    verdict: Literal["above", "similar", "below", ""] = Field(
        ..., description="against England by the interval; empty without an interval"
    )
    median: float | None = Field(None, description="the median trust's value")
    percentile: float | None = Field(None, description="mid-rank percentile among trusts with a value")
    higher_than: int | None = Field(None, description="trusts with a lower value")
    trusts: int = Field(..., description="trusts with a value")


class TrustMeasuresOut(Schema):
    id: int
    name: str
    external_id: str
    year: int | None
    academic_year: str
    summary: str = Field(..., description="one sentence from what the intervals support (all pupils)")
    summary_disadvantaged: str = Field(..., description="the same for disadvantaged pupils")
    above: int
    similar: int
    below: int
    england_basis: str
    not_published: list[str] = Field(..., description="measures asked for but not in the DfE trust files")
    measures: list[TrustMeasureOut]


class SideBySideQuery(Schema):
    pick: str = Field(
        "", max_length=2000, description="trust names or DfE ids (TR01234), separated by commas or new lines"
    )


class SideBySideCell(Schema):
    trust_id: int
    value: float | None
    note: str
    low: float | None
    high: float | None
    verdict: Literal["above", "similar", "below", ""]
    percentile: float | None


class SideBySideRowOut(Schema):
    key: str
    code: str
    label: str
    group: Literal["all", "disadvantaged"]
    unit: Literal["percent", "points"]
    england: float | None
    median: float | None
    trusts: int
    cells: list[SideBySideCell]


class SideBySideTrust(Schema):
    id: int
    name: str
    external_id: str


class SideBySideOut(Schema):
    year: int | None
    trusts: list[SideBySideTrust]
    unmatched: list[str]
    ambiguous: dict[str, list[SideBySideTrust]]
    rows: list[SideBySideRowOut]
