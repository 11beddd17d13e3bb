"""Catalogue of the performance measures School Partners stores (pure: no Django import).

Codes follow DfE field names where DfE has one. Where a file of the pack is mislabelled, the measure is stored
under its true meaning (see the data pack README): the KS2 "Writing Score/Meet/Exceed" columns of
`ks2_perf_*` are GPS (grammar, punctuation and spelling); the 2016 KS4 "Eng Maths Grade 5" column is
A*-C in English and maths (PTL2BASICS_LL_PTQ_EE) and "EBacc Grade 5" is EBacc achieved at A*-C.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# DfE's progress bands, 1 (best) to 5: where a school's progress score and its 95% confidence interval sit against
# the England average of 0 (performance tables guidance). Shown in these words, explained beside the tables.
BAND_WORDS = {
    1: "Well above average",
    2: "Above average",
    3: "Average",
    4: "Below average",
    5: "Well below average",
}


class Unit(StrEnum):
    COUNT = "count"
    PERCENT = "percent"
    SCORE = "score"
    PROGRESS = "progress"
    BAND = "band"


@dataclass(frozen=True)
class Measure:
    code: str
    label: str
    key_stage: int
    unit: Unit
    higher_is_better: bool = True
    weight_by: str | None = None  # pupil-count measure used to weight the national average
    national_zero: bool = False  # value-added measures: the national average is 0 by construction
    description: str = ""

    @property
    def short(self) -> str:
        return self.label


_KS2 = [
    Measure("TELIG", "Pupils at end of KS2", 2, Unit.COUNT, description="Number of eligible pupils"),
    Measure("BELIG", "Boys at end of KS2", 2, Unit.COUNT),
    Measure("GELIG", "Girls at end of KS2", 2, Unit.COUNT),
    Measure(
        "PTRWM_EXP",
        "% meeting expected standard in reading, writing and maths",
        2,
        Unit.PERCENT,
        weight_by="TELIG",
    ),
    Measure(
        "PTRWM_HIGH", "% at higher standard in reading, writing and maths", 2, Unit.PERCENT, weight_by="TELIG"
    ),
    Measure("READPROG", "Reading progress score", 2, Unit.PROGRESS, national_zero=True),
    Measure("READPROG_BAND", "Reading progress band", 2, Unit.BAND, higher_is_better=False),
    Measure("READ_AVERAGE", "Reading average scaled score", 2, Unit.SCORE, weight_by="TELIG"),
    Measure("PTREAD_EXP", "% meeting expected standard in reading", 2, Unit.PERCENT, weight_by="TELIG"),
    Measure("PTREAD_HIGH", "% at higher standard in reading", 2, Unit.PERCENT, weight_by="TELIG"),
    Measure("WRITPROG", "Writing progress score", 2, Unit.PROGRESS, national_zero=True),
    Measure("WRITPROG_BAND", "Writing progress band", 2, Unit.BAND, higher_is_better=False),
    Measure("MATPROG", "Maths progress score", 2, Unit.PROGRESS, national_zero=True),
    Measure("MATPROG_BAND", "Maths progress band", 2, Unit.BAND, higher_is_better=False),
    Measure("MAT_AVERAGE", "Maths average scaled score", 2, Unit.SCORE, weight_by="TELIG"),
    Measure("PTMAT_EXP", "% meeting expected standard in maths", 2, Unit.PERCENT, weight_by="TELIG"),
    Measure("PTMAT_HIGH", "% at higher standard in maths", 2, Unit.PERCENT, weight_by="TELIG"),
    Measure(
        "GPS_AVERAGE",
        "Grammar, punctuation and spelling average scaled score",
        2,
        Unit.SCORE,
        weight_by="TELIG",
        description="Labelled 'Writing Score' in ks2_perf_* files; the values (80-119) are the GPS test.",
    ),
    Measure(
        "PTGPS_EXP",
        "% meeting expected standard in grammar, punctuation and spelling",
        2,
        Unit.PERCENT,
        weight_by="TELIG",
        description="Labelled 'Writing Meet Std' in ks2_perf_* files.",
    ),
    Measure(
        "PTGPS_HIGH",
        "% at higher standard in grammar, punctuation and spelling",
        2,
        Unit.PERCENT,
        weight_by="TELIG",
        description="Labelled 'Writing Exceed Std' in ks2_perf_* files.",
    ),
]

_KS4 = [
    Measure("TPUP", "Pupils at end of KS4", 4, Unit.COUNT),
    Measure("BPUP", "Boys at end of KS4", 4, Unit.COUNT),
    Measure("GPUP", "Girls at end of KS4", 4, Unit.COUNT),
    Measure("P8MEA", "Progress 8", 4, Unit.PROGRESS, national_zero=True),
    Measure("P8MEA_BOYS", "Progress 8 (boys)", 4, Unit.PROGRESS, weight_by="BPUP"),
    Measure("P8MEA_GIRLS", "Progress 8 (girls)", 4, Unit.PROGRESS, weight_by="GPUP"),
    Measure("P8_BANDING", "Progress 8 band", 4, Unit.BAND, higher_is_better=False),
    Measure("ATT8SCR", "Attainment 8", 4, Unit.SCORE, weight_by="TPUP"),
    Measure("ATT8SCR_BOYS", "Attainment 8 (boys)", 4, Unit.SCORE, weight_by="BPUP"),
    Measure("ATT8SCR_GIRLS", "Attainment 8 (girls)", 4, Unit.SCORE, weight_by="GPUP"),
    Measure("PTL2BASICS_95", "% grade 5 or above in English and maths", 4, Unit.PERCENT, weight_by="TPUP"),
    Measure("PTL2BASICS_94", "% grade 4 or above in English and maths", 4, Unit.PERCENT, weight_by="TPUP"),
    Measure(
        "PTL2BASICS_LL_PTQ_EE",
        "% A*-C in English and maths (2016)",
        4,
        Unit.PERCENT,
        weight_by="TPUP",
        description="Labelled 'Eng Maths Grade 5' in ks4_perf_2016; before 9-1 grading this is A*-C.",
    ),
    Measure("PTEBACC_E_PTQ_EE", "% entering the EBacc", 4, Unit.PERCENT, weight_by="TPUP"),
    Measure("PTEBACC_95", "% achieving the EBacc at grade 5 or above", 4, Unit.PERCENT, weight_by="TPUP"),
    Measure("PTEBACC_94", "% achieving the EBacc at grade 4 or above", 4, Unit.PERCENT, weight_by="TPUP"),
    Measure(
        "PTEBACC_PTQ_EE",
        "% achieving the EBacc at A*-C (2016)",
        4,
        Unit.PERCENT,
        weight_by="TPUP",
        description="Labelled 'EBacc Grade 5' in ks4_perf_2016; before 9-1 grading this is A*-C.",
    ),
    Measure("EBACCAPS", "EBacc average point score", 4, Unit.SCORE, weight_by="TPUP"),
    Measure("EBACCAPS_BOYS", "EBacc average point score (boys)", 4, Unit.SCORE, weight_by="BPUP"),
    Measure("EBACCAPS_GIRLS", "EBacc average point score (girls)", 4, Unit.SCORE, weight_by="GPUP"),
]

MEASURES: dict[str, Measure] = {m.code: m for m in (*_KS2, *_KS4)}

# The measures shown first on a school page and in search results, per key stage.
HEADLINE: dict[int, list[str]] = {
    2: [
        "PTRWM_EXP",
        "PTRWM_HIGH",
        "READPROG",
        "WRITPROG",
        "MATPROG",
        "READ_AVERAGE",
        "MAT_AVERAGE",
        "GPS_AVERAGE",
    ],
    4: [
        "P8MEA",
        "ATT8SCR",
        "PTL2BASICS_95",
        "PTL2BASICS_94",
        "PTL2BASICS_LL_PTQ_EE",
        "PTEBACC_E_PTQ_EE",
        "EBACCAPS",
    ],
}


def academic_year_label(year: int) -> str:
    """2019 -> '2018/19' (years are stored as the year the academic year ends)."""
    return f"{year - 1}/{str(year)[-2:]}"


def measures_for(key_stage: int) -> list[Measure]:
    return [m for m in MEASURES.values() if m.key_stage == key_stage]
