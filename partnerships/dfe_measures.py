"""The DfE's trust measures (the MAT performance files, 2024/25) in plain words: England, the trust's position
among all trusts, 95% intervals, one summary sentence and a strip chart. Pure: no Django.

Inputs are the stored values of the files by code (`KS2_PRWM_EXP_WGTAVG`, the importer's key stage prefix + the
DfE field name), one mapping per trust. Codes stay in downloads and the API; pages show `Measure.label`.

- **England.** The MAT files hold no England row, so the England figure is the pupil-weighted average of every
  trust in the file: each trust's value weighted by its pupils at the end of the key stage (`TELIG_MATPTINC`,
  `TPUP_MATPTINC`), or by its disadvantaged / other pupils (pupils × the published share) for those groups.
  It is the figure for pupils in England's multi-academy trusts, not for every school, and is labelled so.
- **Interval.** A percentage gets a 95% Wilson (binomial) interval from the trust's pupil count, read as the share
  of those pupils. A group's count is pupils × the published share, rounded to a whole pupil (the share is itself
  rounded, so this count is approximate). Attainment 8 and the EBacc average point score are means of pupil
  scores: a normal interval would need the spread of pupils' scores, which neither file publishes, so they get
  no interval (and are not counted in the summary).
- **Position.** The mid-rank percentile among the trusts with a value: 100 × (trusts below + half the trusts
  equal) / trusts; and the median trust's value.
- **Verdict.** Above England when the whole interval is above it, below when the whole interval is below it,
  similar when it covers it; nothing without an interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

Z95 = 1.959963984540054
GROUPS = ("all", "disadvantaged", "other")
GROUP_LABELS = {"all": "All pupils", "disadvantaged": "Disadvantaged pupils", "other": "Other pupils"}
_SUFFIX = {
    2: {"all": "", "disadvantaged": "_FSM6CLA1A", "other": "_NOTFSM6CLA1A"},
    4: {"all": "", "disadvantaged": "_FSM6CLA1A", "other": "_NFSM6CLA1A"},
}
PUPILS = {2: "KS2_TELIG_MATPTINC", 4: "KS4_TPUP_MATPTINC"}
SHARE = {
    2: {"disadvantaged": "KS2_PFSM6CLA1A_MATPTINC", "other": "KS2_PNOTFSM6CLA1A_MATPTINC"},
    4: {"disadvantaged": "KS4_PFSM6CLA1A_MATPTINC", "other": "KS4_PNOTFSM6CLA1A_MATPTINC"},
}
NO_SPREAD = (
    "no interval: the DfE trust file gives the average score but not how much pupils' scores vary, "
    "which an interval needs"
)
# Asked for, but not in the 2024/25 MAT files (said on the page rather than left out silently).
NOT_PUBLISHED = (
    "reading, writing and maths separately, and the higher standard, at key stage 2 (the trust file gives only "
    "the three subjects combined at the expected standard)",
    "grade 4 or above in English and maths at key stage 4 (the trust file gives grade 5 or above)",
    "Progress 8 (not published for 2024/25: these pupils took no key stage 2 tests in 2020)",
)


# The files' codes for a missing value, in words (the codes themselves stay in downloads and the API).
NOTE_WORDS = {
    "SUPPMAT": "not published: too few pupils or schools",
    "SUPP": "not published: too few pupils",
    "NELIG": "no eligible pupils",
    "NA": "not applicable",
    "NP": "not published",
    "NE": "no entries",
    "LOWCOV": "not published: too few pupils covered",
    "X": "not available",
}


def note_words(note: str) -> str:
    return NOTE_WORDS.get(note.upper(), "not published") if note else "not in the file for this trust"


@dataclass(frozen=True)
class Measure:
    key: str
    key_stage: int
    field: str  # DfE field name of the all-pupils figure
    label: str  # plain words for the page
    description: str  # the DfE's own description (the meta file's wording)
    unit: Literal["percent", "points"]

    def code(self, group: str = "all") -> str:
        return f"KS{self.key_stage}_{self.field}{_SUFFIX[self.key_stage][group]}"

    @property
    def has_interval(self) -> bool:
        return self.unit == "percent"

    def description_for(self, group: str = "all") -> str:
        """The DfE's description of the group's field (the meta file words groups this way)."""
        who = {"all": "pupil", "disadvantaged": "disadvantaged pupil", "other": "non-disadvantaged pupil"}[
            group
        ]
        return self.description.replace("of pupils", f"of {who}s").replace("per pupil", f"per {who}")

    @property
    def digits(self) -> int:
        return 2 if self.key == "ks4_ebacc_aps" else 1

    @property
    def short(self) -> str:
        return SHORT[self.key]


MEASURES: tuple[Measure, ...] = (
    Measure(
        "ks2_rwm_expected",
        2,
        "PRWM_EXP_WGTAVG",
        "Reached the expected standard in reading, writing and maths (age 11)",
        "Weighted percentage of pupils reaching the expected standard in Reading, Writing, and Maths (combined)",
        "percent",
    ),
    Measure(
        "ks4_attainment8",
        4,
        "ATT8SCR_WGTAVG",
        "Attainment 8: average GCSE-level score over 8 subjects (age 16)",
        "Weighted average Attainment 8 score per pupil",
        "points",
    ),
    Measure(
        "ks4_english_maths_5",
        4,
        "PTL2BASICS_95_WGTAVG",
        "Grade 5 or above in English and maths GCSEs",
        "Weighted percentage of pupils achieving grade 5 or above in English and maths GCSEs",
        "percent",
    ),
    Measure(
        "ks4_ebacc_entered",
        4,
        "PTEBACC_E_PTQ_EE_WGTAVG",
        "Entered for the English Baccalaureate (EBacc) subjects",
        "Weighted percentage of pupils entering the English Baccalaureate",
        "percent",
    ),
    Measure(
        "ks4_ebacc_4",
        4,
        "PTEBACC_94_WGTAVG",
        "Achieved the EBacc at grade 4 or above",
        "Weighted percentage of pupils achieving the English Baccalaureate at grade 4 or above",
        "percent",
    ),
    Measure(
        "ks4_ebacc_5",
        4,
        "PTEBACC_95_WGTAVG",
        "Achieved the EBacc at grade 5 or above",
        "Weighted percentage of pupils achieving the English Baccalaureate at grade 5 or above",
        "percent",
    ),
    Measure(
        "ks4_ebacc_aps",
        4,
        "EBACCAPS_WGTAVG",
        "EBacc average point score (0 to 9 per subject)",
        "Weighted average English Baccalaureate average point score per pupil",
        "points",
    ),
)
SHORT = {
    "ks2_rwm_expected": "reading, writing and maths at the expected standard",
    "ks4_attainment8": "Attainment 8",
    "ks4_english_maths_5": "grade 5+ in English and maths",
    "ks4_ebacc_entered": "EBacc entry",
    "ks4_ebacc_4": "EBacc at grade 4+",
    "ks4_ebacc_5": "EBacc at grade 5+",
    "ks4_ebacc_aps": "the EBacc average point score",
}
BY_KEY = {m.key: m for m in MEASURES}
CODES = {m.code(g): (m, g) for m in MEASURES for g in GROUPS}


def needed_codes() -> set[str]:
    """Every stored code these figures read (values, pupil counts, group shares)."""
    out = set(CODES) | set(PUPILS.values())
    for shares in SHARE.values():
        out |= set(shares.values())
    return out


def clean(x: float | None, digits: int = 6) -> float | None:
    """`x` rounded, with -0.0 made 0.0 (a page never prints "-0.00"); None and non-finite values are None."""
    if x is None or not math.isfinite(x):
        return None
    r = round(float(x), digits)
    return 0.0 if r == 0 else r


def wilson(pct: float | None, n: float | None, z: float = Z95) -> tuple[float, float] | None:
    """95% Wilson score interval (percent) of a percentage `pct` (0-100) of `n` pupils; None when not defined."""
    if pct is None or n is None or not math.isfinite(pct) or not math.isfinite(n) or n <= 0:
        return None
    if pct < 0 or pct > 100:
        return None
    p = pct / 100.0
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom
    lo, hi = max(0.0, centre - half), min(1.0, centre + half)
    if p == 0.0:
        lo = 0.0
    if p == 1.0:
        hi = 1.0
    return clean(100.0 * lo) or 0.0, clean(100.0 * hi) or 0.0


def normal_interval(
    mean: float | None, sd: float | None, n: float | None, z: float = Z95
) -> tuple[float, float] | None:
    """95% normal interval of a mean of `n` pupils whose scores have standard deviation `sd`; None without both."""
    if mean is None or sd is None or n is None or n <= 0 or sd < 0:
        return None
    if not (math.isfinite(mean) and math.isfinite(sd) and math.isfinite(n)):
        return None
    half = z * sd / math.sqrt(n)
    return clean(mean - half) or 0.0, clean(mean + half) or 0.0


def group_pupils(values: Mapping[str, float | None], key_stage: int, group: str) -> int | None:
    """Pupils of a group in one trust: all pupils, or pupils × the group's published share (rounded)."""
    pupils = values.get(PUPILS[key_stage])
    if pupils is None or not math.isfinite(pupils) or pupils <= 0:
        return None
    if group == "all":
        return int(round(pupils))
    share = values.get(SHARE[key_stage][group])
    if share is None or not math.isfinite(share) or share < 0:
        return None
    n = int(round(pupils * share / 100.0))
    return n if n > 0 else None


@dataclass(frozen=True)
class Reference:
    """All trusts' values of one code: the England (pupil-weighted) figure, the median trust and the sorted values."""

    code: str
    values: tuple[float, ...]  # sorted
    england: float | None
    england_pupils: int
    england_trusts: int

    @property
    def trusts(self) -> int:
        return len(self.values)

    @property
    def median(self) -> float | None:
        return clean(_median(self.values), 4) if self.values else None

    def percentile(self, value: float | None) -> float | None:
        if value is None or not self.values:
            return None
        below = sum(1 for v in self.values if v < value)
        equal = sum(1 for v in self.values if v == value)
        return clean(100.0 * (below + 0.5 * equal) / len(self.values), 1)

    def higher_than(self, value: float | None) -> int | None:
        return None if value is None else sum(1 for v in self.values if v < value)


def _median(values: Sequence[float]) -> float:
    n = len(values)
    mid = n // 2
    return values[mid] if n % 2 else (values[mid - 1] + values[mid]) / 2.0


def references(trusts: Iterable[Mapping[str, float | None]]) -> dict[str, Reference]:
    """Per code: every trust's value, and the England figure weighted by each trust's pupils of the group."""
    rows = list(trusts)
    out: dict[str, Reference] = {}
    for code, (m, g) in CODES.items():
        vals: list[float] = []
        total = weight = 0.0
        n_trusts = 0
        for r in rows:
            v = r.get(code)
            if v is None or not math.isfinite(v):
                continue
            vals.append(float(v))
            n = group_pupils(r, m.key_stage, g)
            if n:
                total += v * n
                weight += n
                n_trusts += 1
        england = clean(total / weight, 4) if weight else None
        out[code] = Reference(code, tuple(sorted(vals)), england, int(weight), n_trusts)
    return out


Verdict = Literal["above", "similar", "below", ""]


@dataclass(frozen=True)
class Figure:
    measure: Measure
    group: str
    value: float | None
    note: str  # the file's code for a missing value (SUPPMAT, NELIG, ...)
    pupils: int | None
    low: float | None
    high: float | None
    interval_note: str
    england: float | None
    median: float | None
    percentile: float | None
    higher_than: int | None
    trusts: int
    verdict: Verdict
    difference: float | None  # value - England

    @property
    def code(self) -> str:
        return self.measure.code(self.group)

    @property
    def group_label(self) -> str:
        return GROUP_LABELS[self.group]


def verdict(low: float | None, high: float | None, england: float | None) -> Verdict:
    if low is None or high is None or england is None:
        return ""
    if low > england:
        return "above"
    if high < england:
        return "below"
    return "similar"


def figure(
    m: Measure,
    group: str,
    values: Mapping[str, float | None],
    notes: Mapping[str, str],
    refs: Mapping[str, Reference],
) -> Figure:
    code = m.code(group)
    ref = refs.get(code) or Reference(code, (), None, 0, 0)
    v = values.get(code)
    value = clean(v, 4) if v is not None else None
    pupils = group_pupils(values, m.key_stage, group)
    low = high = None
    if value is None:
        why = note_words(notes.get(code, ""))
    elif not m.has_interval:
        why = NO_SPREAD
    else:
        ci = wilson(value, pupils)
        why = "" if ci else "no interval: the number of pupils is not known"
        if ci:
            low, high = ci
    return Figure(
        measure=m,
        group=group,
        value=value,
        note=notes.get(code, ""),
        pupils=pupils,
        low=low,
        high=high,
        interval_note=why,
        england=ref.england,
        median=ref.median,
        percentile=ref.percentile(value),
        higher_than=ref.higher_than(value),
        trusts=ref.trusts,
        verdict=verdict(low, high, ref.england),
        difference=clean(value - ref.england, 4) if value is not None and ref.england is not None else None,
    )


def figures(
    values: Mapping[str, float | None], notes: Mapping[str, str], refs: Mapping[str, Reference]
) -> list[Figure]:
    """One trust's figures: every measure and group the trust has a value or a code for, in catalogue order."""
    out = []
    for m in MEASURES:
        for g in GROUPS:
            code = m.code(g)
            if code in values or code in notes:
                out.append(figure(m, g, values, notes, refs))
    return out


@dataclass(frozen=True)
class Summary:
    group: str
    above: int
    similar: int
    below: int
    without_interval: tuple[str, ...]
    sentence: str

    @property
    def compared(self) -> int:
        return self.above + self.similar + self.below


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def summarise(figs: Iterable[Figure], group: str = "all") -> Summary:
    """One sentence from what the intervals support: measures with an interval and an England figure only."""
    mine = [f for f in figs if f.group == group and f.value is not None]
    above = sum(f.verdict == "above" for f in mine)
    similar = sum(f.verdict == "similar" for f in mine)
    below = sum(f.verdict == "below" for f in mine)
    without = tuple(f.measure.short for f in mine if not f.verdict)
    compared = above + similar + below
    who = "" if group == "all" else f"{GROUP_LABELS[group]}: "
    england = (
        "the England figure" if group == "all" else f"the England figure for {GROUP_LABELS[group].lower()}"
    )
    if compared:
        head = (
            f"{who}{'a' if who else 'A'}bove {england} on {above} of {compared} headline "
            f"{_plural(compared, 'measure', 'measures')}, similar on {similar}, below on {below}."
        )
    else:
        head = (
            f"{who}{'n' if who else 'N'}o measure has both an interval and an England figure, "
            "so no comparison is made."
        )
    if without:
        names = ", ".join(without[:-1]) + (" and " if len(without) > 1 else "") + without[-1]
        head += (
            f" {names[0].upper()}{names[1:]} {_plural(len(without), 'has', 'have')} no interval, so "
            f"{_plural(len(without), 'it is', 'they are')} not counted."
        )
    return Summary(group, above, similar, below, without, head)


# ---------------------------------------------------------------------------------------------------------------
# Strip chart geometry (the page draws it as SVG; the table beside it has every number)
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int


@dataclass(frozen=True)
class ChartRow:
    label: str
    top: float
    label_y: float
    axis_y: float
    tick_y: float
    mark_top: float  # England and median lines, top and bottom
    mark_bottom: float
    dot_y: float
    axis_min: float
    axis_max: float
    unit: str
    bars: tuple[Bar, ...]
    england_x: float | None
    median_x: float | None
    value_x: float | None
    low_x: float | None
    high_x: float | None
    trusts: int


@dataclass(frozen=True)
class Chart:
    width: float
    height: float
    left: float
    right: float
    rows: tuple[ChartRow, ...] = field(default_factory=tuple)


def _nice_step(span: float) -> float:
    raw = span / 5.0 if span > 0 else 1.0
    mag = 10 ** math.floor(math.log10(raw))
    for s in (1, 2, 2.5, 5, 10):
        if raw <= s * mag:
            return s * mag
    return 10 * mag


def strip_chart(
    figs: Iterable[Figure],
    refs: Mapping[str, Reference],
    width: float = 640.0,
    row_height: float = 76.0,
    bins: int = 40,
    bar_height: float = 22.0,
) -> Chart:
    """Per figure with a value: every trust's value as a histogram strip, England, the median trust and this
    trust with its interval, each on the row's own scale (percent and points differ)."""
    left, right = 8.0, width - 8.0
    rows: list[ChartRow] = []
    for f in figs:
        if f.value is None:
            continue
        ref = refs.get(f.code)
        vals = ref.values if ref else ()
        pts = [*vals, f.value] + [x for x in (f.low, f.high, f.england) if x is not None]
        lo, hi = min(pts), max(pts)
        step = _nice_step(hi - lo)
        amin, amax = math.floor(lo / step) * step, math.ceil(hi / step) * step
        if amax <= amin:
            amax = amin + step
        if f.measure.unit == "percent":
            amin, amax = max(0.0, amin), min(100.0, amax)

        def x_of(v: float, a: float = amin, b: float = amax) -> float:
            return round(left + (right - left) * (v - a) / (b - a), 2)

        top = len(rows) * row_height
        axis_y = top + row_height - 24.0
        counts = [0] * bins
        for v in vals:
            i = min(bins - 1, max(0, int((v - amin) / (amax - amin) * bins)))
            counts[i] += 1
        peak = max(counts) if any(counts) else 1
        bw = (right - left) / bins
        bars = tuple(
            Bar(
                round(left + i * bw, 2),
                round(axis_y - bar_height * c / peak, 2),
                round(bw - 1, 2),
                round(bar_height * c / peak, 2),
                c,
            )
            for i, c in enumerate(counts)
            if c
        )
        rows.append(
            ChartRow(
                label=f"{f.measure.label}, {f.group_label.lower()}",
                top=top,
                label_y=top + 16.0,
                axis_y=axis_y,
                tick_y=axis_y + 16.0,
                mark_top=axis_y - bar_height - 8.0,
                mark_bottom=axis_y + 4.0,
                dot_y=axis_y - 12.0,
                axis_min=clean(amin, 4) or 0.0,
                axis_max=clean(amax, 4) or 0.0,
                unit=f.measure.unit,
                bars=bars,
                england_x=x_of(f.england) if f.england is not None else None,
                median_x=x_of(f.median) if f.median is not None else None,
                value_x=x_of(f.value),
                low_x=x_of(f.low) if f.low is not None else None,
                high_x=x_of(f.high) if f.high is not None else None,
                trusts=len(vals),
            )
        )
    return Chart(width, len(rows) * row_height, left, right, tuple(rows))


def ordinal(n: int) -> str:
    """1 -> "1st", 22 -> "22nd", 13 -> "13th"."""
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"
