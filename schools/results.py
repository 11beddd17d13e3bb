"""The results tables of the school page and how a measure value is shown (reads; no writes)."""

from __future__ import annotations

from dataclasses import dataclass, field

from schools.measures import BAND_WORDS, MEASURES, Measure, Unit, measures_for
from schools.models import NationalAverage, Result, School

NOTE_WORDS = {
    "SUPP": "suppressed",
    "SUPPMAT": "suppressed",
    "NP": "not published",
    "NE": "no entries",
    "NA": "not applicable",
    "LOWCOV": "low coverage",
    "NELIG": "no eligible pupils",
    "X": "not available",
}


PRIMARY_PHASES = {"primary", "middle_primary", "nursery"}
SECONDARY_PHASES = {"secondary", "middle_secondary", "16_plus"}


def note_word(note: str) -> str:
    """A DfE suppression/missing code as words ('SUPP' -> 'suppressed'); never a number."""
    code = (note or "").strip()
    return NOTE_WORDS.get(code.upper(), code.lower() or "no data")


def format_measure(code: str, value: float | None) -> str:
    """A measure value for display: 65% / +0.25 / 104.5 / 1,234."""
    if value is None:
        return ""
    measure = MEASURES.get(code)
    unit = measure.unit if measure else None
    if unit == Unit.PERCENT:
        return f"{value:.0f}%" if float(value).is_integer() else f"{value:.1f}%"
    if unit == Unit.PROGRESS:
        return "0.00" if round(float(value), 2) == 0 else f"{value:+.2f}"
    if unit == Unit.BAND:  # DfE progress bands 1-5, shown in DfE's words (explained beside the table)
        return BAND_WORDS.get(int(value), f"{value:.0f}")
    if unit == Unit.COUNT:
        return f"{value:,.0f}"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


@dataclass
class ResultCell:
    year: int
    value: float | None = None
    text: str = ""
    note: str = ""
    national: float | None = None
    display: str = ""
    national_display: str = ""
    missing: bool = True  # no value: `display` then holds words (e.g. "suppressed") or "no data"


@dataclass
class ResultTableRow:
    measure: Measure
    cells: list[ResultCell]


@dataclass
class ResultTable:
    key_stage: int
    title: str
    years: list[int]
    rows: list[ResultTableRow]
    notes: list[str] = field(default_factory=list)


BAND_NOTE = (
    "Progress bands are the DfE's: 'Well above average' and 'Above average' mean the school's score and its whole "
    "95% confidence interval are above England's 0 (well above: a large score as well); 'Average' means the "
    "interval includes 0; 'Below average' and 'Well below average' mirror them. Small schools have wide "
    "intervals, so they are more often 'Average'."
)

RESULT_NOTES = {
    2: [
        "Grammar, punctuation and spelling (GPS) figures appear as 'Writing' score and standard in the source "
        "files for 2016 to 2018; writing is teacher-assessed and has no scaled score, so they are shown as GPS.",
        "Progress scores are relative to the national average of 0.",
        BAND_NOTE,
    ],
    4: [
        "2016 results use A*–C grades (% A*–C in English and maths, EBacc at A*–C); from 2017 they use 9–1 "
        "grades, so 2016 is not comparable with later years.",
        "Progress 8 is relative to the national average of 0. Progress 8 was not published for 2024/25.",
        BAND_NOTE,
    ],
}


def result_tables(school: School, all_years: dict[int, list[int]]) -> list[ResultTable]:
    """One table per key stage of a school (`all_years`: the national result years per key stage)."""
    rows = list(
        Result.objects.filter(school_id=school.urn).values_list("year", "measure", "value", "text", "note")
    )
    by_ks: dict[int, dict[tuple[str, int], tuple[float | None, str, str]]] = {}
    for year, code, value, text, note in rows:
        m = MEASURES.get(code)
        if m is not None:
            by_ks.setdefault(m.key_stage, {})[(code, year)] = (value, text, note)
    wanted = set(by_ks)
    if school.is_primary or school.phase in PRIMARY_PHASES or school.phase == "all_through":
        wanted.add(2)
    if school.is_secondary or school.phase in SECONDARY_PHASES or school.phase == "all_through":
        wanted.add(4)
    if not wanted:
        return []
    school_years = {year for year, *_ in rows}
    national: dict[tuple[str, int], float | None] = {}
    if rows:
        for code, year, value in NationalAverage.objects.filter(
            year__in=school_years, measure__in={c for c, *_ in (r[1:] for r in rows)}
        ).values_list("measure", "year", "value"):
            national[(code, year)] = value
    tables = []
    for ks in sorted(wanted):
        data = by_ks.get(ks, {})
        years = sorted(set(all_years.get(ks, [])) | {y for _, y in data})
        table_rows = []
        for m in measures_for(ks):
            if not any((m.code, y) in data for y in years):
                continue
            cells = []
            for y in years:
                value, text, note = data.get((m.code, y), (None, "", ""))
                nat = national.get((m.code, y))
                if nat is None and m.national_zero and (m.code, y) in data:
                    nat = 0.0
                cell = ResultCell(year=y, value=value, text=text, note=note, national=nat)
                if value is not None:
                    cell.display, cell.missing = format_measure(m.code, value), False
                elif text:
                    cell.display, cell.missing = text, False
                elif (m.code, y) in data:
                    cell.display = note_word(note)
                cell.national_display = format_measure(m.code, nat) if nat is not None else ""
                cells.append(cell)
            table_rows.append(ResultTableRow(measure=m, cells=cells))
        title = (
            "Key stage 2 results (end of primary)" if ks == 2 else "Key stage 4 results (end of secondary)"
        )
        tables.append(
            ResultTable(
                key_stage=ks, title=title, years=years, rows=table_rows, notes=RESULT_NOTES.get(ks, [])
            )
        )
    return tables
