"""The pure core of the DfE trust measures: Wilson intervals (edge cases and seeded coverage), England weighted by
pupils, percentiles and the median trust, verdicts, the summary sentence and the chart geometry."""

from __future__ import annotations

import csv
import io
import lzma
import math
from pathlib import Path

import numpy as np
import pytest

from partnerships import dfe_measures as dm

BUNDLE = Path(__file__).resolve().parents[2] / "data" / "bundle"
KS2 = dm.BY_KEY["ks2_rwm_expected"]
A8 = dm.BY_KEY["ks4_attainment8"]
EM5 = dm.BY_KEY["ks4_english_maths_5"]


# ----------------------------------------------------------------------------------------------- intervals
def test_wilson_matches_the_textbook_formula():
    # Wilson (1927): 74% of 137 pupils, computed here term by term
    p, n, z = 0.74, 137, 1.959963984540054
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo, hi = dm.wilson(74, 137)  # type: ignore[misc]
    assert lo == pytest.approx(100 * (centre - half), abs=1e-5)
    assert hi == pytest.approx(100 * (centre + half), abs=1e-5)
    assert lo < 74 < hi


def test_wilson_edges_zero_hundred_tiny_and_missing():
    lo, hi = dm.wilson(0, 10)  # type: ignore[misc]
    assert lo == 0.0 and math.copysign(1, lo) == 1.0  # never -0.0
    assert 0 < hi < 35
    lo, hi = dm.wilson(100, 10)  # type: ignore[misc]
    assert hi == 100.0 and 65 < lo < 100
    lo, hi = dm.wilson(100, 1)  # type: ignore[misc]  # one pupil: almost the whole range
    assert hi == 100.0 and lo < 25
    lo, hi = dm.wilson(50, 1)  # type: ignore[misc]
    assert lo < 10 and hi > 90
    assert dm.wilson(None, 100) is None  # suppressed value
    assert dm.wilson(50, None) is None  # unknown pupils
    assert dm.wilson(50, 0) is None
    assert dm.wilson(50, -3) is None
    assert dm.wilson(101, 50) is None
    assert dm.wilson(float("nan"), 50) is None
    # a bigger cohort gives a narrower interval around the same figure
    small, big = dm.wilson(40, 30), dm.wilson(40, 3000)
    assert small and big and (big[1] - big[0]) < (small[1] - small[0]) / 5


def test_wilson_covers_the_true_share_about_95_percent_of_the_time():
    rng = np.random.default_rng(20250101)  # seeded: the same draws every run
    hits = trials = 0
    for true_p, n in ((0.05, 40), (0.5, 25), (0.74, 137), (0.3, 400)):
        draws = rng.binomial(n, true_p, size=2000)
        for k in draws:
            ci = dm.wilson(100.0 * k / n, n)
            assert ci is not None
            hits += ci[0] <= 100 * true_p <= ci[1]
            trials += 1
    assert 0.93 <= hits / trials <= 0.975


def test_normal_interval_needs_a_spread():
    lo, hi = dm.normal_interval(45.0, 20.0, 400)  # type: ignore[misc]
    assert lo == pytest.approx(45 - 1.959964 * 1.0, abs=1e-4) and hi == pytest.approx(45 + 1.959964, abs=1e-4)
    assert dm.normal_interval(45.0, None, 400) is None
    assert dm.normal_interval(45.0, 20.0, 0) is None
    assert dm.normal_interval(None, 20.0, 10) is None


def test_clean_never_gives_minus_zero():
    for x in (-0.0, -1e-9, -0.00000004):
        c = dm.clean(x)
        assert c == 0.0 and math.copysign(1, c) == 1.0  # type: ignore[arg-type]
    assert dm.clean(float("inf")) is None and dm.clean(None) is None
    assert f"{dm.clean(-0.000001, 4):.2f}" == "0.00"


# -------------------------------------------------------------------------------------- England, position
def _trust(ks2: float | None, pupils: float | None, fsm_share: float | None = None, dis: float | None = None):
    row: dict[str, float | None] = {}
    if ks2 is not None:
        row[KS2.code()] = ks2
    if pupils is not None:
        row[dm.PUPILS[2]] = pupils
    if fsm_share is not None:
        row[dm.SHARE[2]["disadvantaged"]] = fsm_share
    if dis is not None:
        row[KS2.code("disadvantaged")] = dis
    return row


def test_england_is_pupil_weighted_and_skips_trusts_without_pupils():
    trusts = [_trust(80, 100, 50, 60), _trust(50, 300, 10, 40), _trust(90, None), _trust(None, 50)]
    refs = dm.references(trusts)
    r = refs[KS2.code()]
    assert r.england == pytest.approx((80 * 100 + 50 * 300) / 400)
    assert r.england_pupils == 400 and r.england_trusts == 2
    assert r.trusts == 3  # the trust without pupils still counts for the position among trusts
    # disadvantaged: weighted by pupils x share (50 and 30 pupils)
    d = refs[KS2.code("disadvantaged")]
    assert d.england == pytest.approx((60 * 50 + 40 * 30) / 80)
    assert refs[A8.code()].england is None and refs[A8.code()].trusts == 0


def test_percentile_median_and_ties():
    refs = dm.references([_trust(v, 100) for v in (50, 60, 60, 70, 80)])
    r = refs[KS2.code()]
    assert r.median == 60
    assert r.percentile(60) == 40.0  # 1 below + half of 2 equal = 2 of 5
    assert r.percentile(80) == 90.0
    assert r.percentile(50) == 10.0
    assert r.higher_than(60) == 1
    assert r.percentile(None) is None
    even = dm.references([_trust(v, 100) for v in (50, 60, 70, 80)])[KS2.code()]
    assert even.median == 65


def test_figures_verdicts_and_suppressed_values():
    others = [_trust(60, 1000) for _ in range(20)]
    big_above = _trust(75, 2000, 30, 55)
    tiny = _trust(70, 6)  # 6 pupils: the interval covers England
    refs = dm.references([*others, big_above, tiny])
    f = dm.figures(big_above, {}, refs)
    allp = next(x for x in f if x.group == "all")
    assert allp.verdict == "above" and allp.low is not None and allp.low > allp.england  # type: ignore[operator]
    assert allp.pupils == 2000 and allp.difference == pytest.approx(75 - allp.england)  # type: ignore[operator]
    t = dm.figures(tiny, {}, refs)[0]
    assert t.verdict == "similar" and t.low is not None and t.low < t.england < t.high  # type: ignore[operator]
    below = dm.figures(_trust(40, 5000), {}, refs)[0]
    assert below.verdict == "below"
    # a suppressed value: no number, no interval, no verdict, the code in words
    sup = dm.figures(_trust(None, 300), {KS2.code(): "SUPPMAT"}, refs)
    assert len(sup) == 1 and sup[0].value is None and sup[0].verdict == "" and sup[0].low is None
    assert sup[0].note == "SUPPMAT" and "too few" in sup[0].interval_note
    # points measures: a value and a position, but no interval (no spread published)
    a8 = dm.figures({A8.code(): 47.7, dm.PUPILS[4]: 3362}, {}, dm.references([{A8.code(): 40.0}]))[0]
    assert a8.value == 47.7 and a8.low is None and a8.verdict == "" and "vary" in a8.interval_note
    assert a8.percentile == 100.0


def test_group_pupils_rounds_the_published_share():
    row = {dm.PUPILS[4]: 587.0, dm.SHARE[4]["disadvantaged"]: 31.0, dm.SHARE[4]["other"]: 69.0}
    assert dm.group_pupils(row, 4, "all") == 587
    assert dm.group_pupils(row, 4, "disadvantaged") == 182  # 587 x 0.31 = 181.97
    assert dm.group_pupils(row, 4, "other") == 405
    assert (
        dm.group_pupils({dm.PUPILS[4]: 3.0, dm.SHARE[4]["disadvantaged"]: 10.0}, 4, "disadvantaged") is None
    )
    assert dm.group_pupils({}, 4, "all") is None


# ------------------------------------------------------------------------------------------------- summary
def _fig(m: dm.Measure, verdict: str, group: str = "all", value: float | None = 50.0) -> dm.Figure:
    lo, hi = (40.0, 60.0) if verdict else (None, None)
    return dm.Figure(m, group, value, "", 100, lo, hi, "", 50.0, 50.0, 50.0, 1, 3, verdict, 0.0)  # type: ignore[arg-type]


def test_summary_sentence_counts_only_measures_with_an_interval():
    figs = [
        _fig(KS2, "above"),
        _fig(EM5, "above"),
        _fig(dm.BY_KEY["ks4_ebacc_entered"], "above"),
        _fig(dm.BY_KEY["ks4_ebacc_4"], "similar"),
        _fig(dm.BY_KEY["ks4_ebacc_5"], "similar"),
        _fig(dm.BY_KEY["ks4_ebacc_aps"], ""),
        _fig(A8, ""),
        _fig(KS2, "below", group="disadvantaged"),
    ]
    s = dm.summarise(figs)
    assert (s.above, s.similar, s.below, s.compared) == (3, 2, 0, 5)
    assert s.sentence.startswith(
        "Above the England figure on 3 of 5 headline measures, similar on 2, below on 0."
    )
    assert "the EBacc average point score and Attainment 8 have no interval, so they are not counted" in (
        s.sentence.replace("The EBacc", "the EBacc")
    )
    d = dm.summarise(figs, "disadvantaged")
    assert d.sentence == (
        "Disadvantaged pupils: above the England figure for disadvantaged pupils on 0 of 1 headline measure, "
        "similar on 0, below on 1."
    )


def test_summary_without_any_interval_makes_no_claim():
    s = dm.summarise([_fig(A8, "")])
    assert s.compared == 0
    assert s.sentence == (
        "No measure has both an interval and an England figure, so no comparison is made. "
        "Attainment 8 has no interval, so it is not counted."
    )
    assert dm.summarise([]).sentence.startswith("No measure")
    # a suppressed figure is neither counted nor listed as lacking an interval
    assert dm.summarise([_fig(KS2, "", value=None)]).without_interval == ()


# ----------------------------------------------------------------------------------------------- the chart
def test_strip_chart_geometry():
    trusts = [_trust(float(v), 100) for v in range(40, 90)]
    mine = _trust(85, 500)
    refs = dm.references([*trusts, mine])
    figs = dm.figures(mine, {}, refs)
    chart = dm.strip_chart(figs, refs)
    assert len(chart.rows) == 1
    row = chart.rows[0]
    assert sum(b.count for b in row.bars) == 51  # every trust in one bar
    assert all(chart.left <= b.x <= chart.right and b.height > 0 for b in row.bars)
    assert row.axis_min <= 40 and row.axis_max >= 90 and 0 <= row.axis_min and row.axis_max <= 100
    assert row.low_x is not None and row.high_x is not None
    assert row.low_x <= row.value_x <= row.high_x  # type: ignore[operator]
    assert row.england_x is not None and row.england_x < row.value_x  # type: ignore[operator]
    assert chart.height == pytest.approx(76.0)
    # a suppressed figure draws no row
    assert dm.strip_chart(dm.figures({}, {KS2.code(): "SUPP"}, refs), refs).rows == ()


def test_ordinal_and_notes_in_words():
    assert [dm.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 100, 101, 111)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "100th",
        "101st",
        "111th",
    ]
    assert dm.note_words("SUPPMAT") == "not published: too few pupils or schools"
    assert dm.note_words("nelig") == "no eligible pupils"
    assert dm.note_words("") == "not in the file for this trust"


# ------------------------------------------------------------------------------------- labels and the meta
def test_ks2_descriptions_are_the_meta_files_words():
    """The KS2 measures are labelled from the DfE meta file shipped in the bundle (every group's field)."""
    raw = lzma.decompress((BUNDLE / "ks2-mats-performance_meta.csv.xz").read_bytes()).decode("utf-8-sig")
    meta = {r["Metafile heading"]: r["Metafile description"] for r in csv.DictReader(io.StringIO(raw))}
    ks2 = [m for m in dm.MEASURES if m.key_stage == 2]
    assert ks2
    for m in ks2:
        for group in dm.GROUPS:
            field = m.code(group).removeprefix("KS2_")
            assert meta[field] == m.description_for(group), field
    assert meta[dm.PUPILS[2].removeprefix("KS2_")].startswith("Number of pupils at the end of KS2")
    assert meta[dm.SHARE[2]["disadvantaged"].removeprefix("KS2_")].startswith(
        "Percentage disadvantaged pupils"
    )


def test_every_label_is_plain_words():
    for m in dm.MEASURES:
        assert "_" not in m.label and not any(w.isupper() and len(w) > 5 for w in m.label.split())
        assert m.code().startswith(f"KS{m.key_stage}_") and m.code() in dm.CODES
    assert len({m.key for m in dm.MEASURES}) == len(dm.MEASURES)
