"""A small synthetic national population built with the shared factories (for the similarity app tests)."""

from __future__ import annotations

import datetime as dt
import math

from schools.models import Phase, School, Status
from schools.tests.factories import CensusRecordFactory, ResultFactory, SchoolFactory, SchoolLinkFactory
from similarity.method import DEFAULT_METHOD, Method

#: Family of 8 so a population of a few dozen schools has real choices; 3 values enough for z-scores.
SMALL = DEFAULT_METHOD.with_(family_size=8, min_family_values=3)

PRIMARY = 30
SECONDARY = 14
REGIONS = ["West Midlands A", "London East"]


def _wave(i: int, a: float, b: float) -> float:
    """Deterministic spread in [a, b]."""
    return a + (b - a) * (0.5 + 0.5 * math.sin(i * 12.9898 + 78.233))


def build_population(primary: int = PRIMARY, secondary: int = SECONDARY) -> dict[str, list[int]]:
    """Schools with a January 2019 census, 2018/19 results and some 2016/17-2017/18 history.

    Primary URNs 200000.., secondary 300000..; schools sit on a line running north, about 3.5 miles apart, so
    miles are easy to reason about. Odd schools are in London, even ones in the West Midlands.
    """
    out: dict[str, list[int]] = {"primary": [], "secondary": []}
    for phase, count, base in (("primary", primary, 200000), ("secondary", secondary, 300000)):
        for i in range(count):
            urn = base + i
            school = SchoolFactory(
                urn=urn,
                name=f"{'Oak' if phase == 'primary' else 'Elm'} {phase.capitalize()} School {i}",
                phase=Phase.PRIMARY if phase == "primary" else Phase.SECONDARY,
                region_name=REGIONS[i % 2],
                latitude=52.0 + i * 0.05,
                longitude=-1.5 + (0.01 if i % 3 == 0 else 0.0),
            )
            CensusRecordFactory(
                school=school,
                year=2019,
                school_type="State-funded primary" if phase == "primary" else "State-funded secondary",
                nor=int(_wave(i, 150, 450) if phase == "primary" else _wave(i, 600, 1500)),
                pct_fsm_ever=_wave(i + 1, 5, 50),
                pct_eal=_wave(i + 2, 0, 60),
                pct_sen_support=_wave(i + 3, 5, 20),
                pct_sen_ehcp=_wave(i + 4, 0.5, 4),
            )
            h = _wave(i + 5, -3, 3)
            hist: tuple[str, ...]
            if phase == "primary":
                values = {"READPROG": h + 0.5, "WRITPROG": h - 0.4, "MATPROG": _wave(i + 6, -3, 3)}
                pupils, hist = "TELIG", ("READPROG", "WRITPROG", "MATPROG")
            else:
                values = {
                    "P8MEA": h / 3,
                    "ATT8SCR": 45 + 4 * h,
                    "PTL2BASICS_95": 40 + 6 * _wave(i + 7, -3, 3),
                    "PTEBACC_E_PTQ_EE": 35 + 8 * _wave(i + 8, -3, 3),
                    "EBACCAPS": 4 + _wave(i + 9, -1, 1),
                }
                pupils, hist = "TPUP", ("P8MEA",)
            for code, value in values.items():
                ResultFactory(school=school, year=2019, measure=code, value=round(value, 2))
            # 2017/18 history and pupils for most schools; the last school has none (NOR fallback)
            if i < count - 1:
                ResultFactory(
                    school=school, year=2018, measure=pupils, value=30 if phase == "primary" else 150
                )
                for code in hist:
                    ResultFactory(school=school, year=2018, measure=code, value=round(values[code] - 0.2, 2))
            out[phase].append(urn)
    # one primary school without a 2018/19 headline (suppressed) stays out of the population
    school = SchoolFactory(
        urn=209999, name="Suppressed Primary", region_name=REGIONS[0], latitude=52.3, longitude=-1.5
    )
    CensusRecordFactory(
        school=school,
        year=2019,
        school_type="State-funded primary",
        nor=200,
        pct_fsm_ever=20,
        pct_eal=10,
        pct_sen_support=10,
        pct_sen_ehcp=1,
    )
    ResultFactory(school=school, year=2019, measure="READPROG", value=None, note="SUPP")
    return out


def method_small(**changes: object) -> Method:
    return SMALL.with_(**changes)


OLD, NEW = 300003, 400001  # a closed secondary school with 2018/19 results, and the academy that replaced it


def _census_2025(school: object, school_type: str) -> None:
    CensusRecordFactory(
        school=school,
        year=2025,
        school_type=school_type,
        nor=400,
        pct_fsm_ever=20,
        pct_eal=10,
        pct_sen_support=12,
        pct_sen_ehcp=2,
    )


def build_lineage_world() -> dict[str, int]:
    """The small population, plus: secondary OLD closed and replaced by the open academy NEW (a GIAS Predecessor
    link, NEW has a 2024/25 census but no results), every other school in the 2024/25 census, and an infant
    school (ages 4-7) with a 2024/25 census only."""
    pop = build_population()
    School.objects.filter(urn=OLD).update(status=Status.CLOSED)
    new = SchoolFactory(
        urn=NEW,
        name="Replacement Academy",
        phase=Phase.SECONDARY,
        status=Status.OPEN,
        latitude=52.15,
        longitude=-1.5,
        age_low=11,
        age_high=16,
    )
    SchoolLinkFactory(urn=NEW, link_urn=OLD, link_type="Predecessor", established=dt.date(2019, 9, 1))
    _census_2025(new, "State-funded secondary")
    for urn in pop["secondary"] + pop["primary"]:
        if urn != OLD:
            _census_2025(
                School.objects.get(urn=urn),
                "State-funded secondary" if urn in pop["secondary"] else "State-funded primary",
            )
    infant = SchoolFactory(
        urn=500001, name="Little Infant School", age_low=4, age_high=7, latitude=52.2, longitude=-1.5
    )
    _census_2025(infant, "State-funded primary")
    return {"new": NEW, "old": OLD, "infant": 500001}
