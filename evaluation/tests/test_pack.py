"""The real application on the data pack: academy conversions and sponsor changes dated 2016-2018 against
KS2/KS4 results 2016-2019, families from similarity.core, built straight from the pack files."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation import national
from evaluation.engine import Settings
from evaluation.pack import load_inputs

pytestmark = pytest.mark.pack


@pytest.fixture(scope="module")
def result(pack_dir):
    inp = load_inputs(pack_dir)
    return inp, national.evaluate_national(inp, Settings(n_boot=499))


def est(res, et, group, measure):
    for t, _, e in res.estimates:
        if t == et and e.group == group and e.measure == measure:
            return e
    raise KeyError((et, group, measure))


def test_events_from_the_pack_links(result):
    inp, res = result
    ev = res.prepared.events
    conv = ev[ev["event_type"] == "conversion"]
    # README: 1,117 / 1,179 / 1,077 Predecessor* links dated 2016 / 2017 / 2018; plain "Predecessor" to an academy
    assert 2500 <= len(conv) <= 3400
    assert set(conv["detail"]) >= {"converter", "sponsored"}
    assert (ev["event_type"] == "sponsor_change").sum() > 50
    assert ev["date"].min().year == 2016 and ev["date"].max().year == 2018


def test_predecessor_results_are_joined(result):
    _, res = result
    p = res.prepared
    conv = p.events[p.events["event_type"] == "conversion"]
    rows = p.panel.rows(conv["unit"])
    has = rows >= 0
    k = p.panel.measures.index("KS2_PROGRESS")
    years = p.panel.years.tolist()
    pre = p.panel.Y[rows[has]][:, years.index(2016), k]
    # most converted primaries have a 2016 result, which only exists under their predecessor URN
    prim = conv["phase"].to_numpy()[has] == "primary"
    assert np.isfinite(pre[prim]).mean() > 0.6


def test_what_works_table(result):
    _, res = result
    for group, measure, n_min in [
        ("phase: primary", "KS2_PROGRESS", 1000),
        ("phase: secondary", "P8MEA", 150),
        ("type: sponsored · primary", "KS2_PROGRESS", 150),
        ("type: converter · primary", "KS2_PROGRESS", 800),
    ]:
        e = est(res, "conversion", group, measure)
        assert e.n_treated >= n_min, (group, e.n_treated)
        assert e.ci_low < e.effect < e.ci_high
        assert e.n_comparison > 1000
        assert set(e.leads) == {-3, -2, 0, 1, 2}
    # sponsored primaries gain clearly more than converters relative to their families
    sp = est(res, "conversion", "type: sponsored · primary", "KS2_PROGRESS")
    cv = est(res, "conversion", "type: converter · primary", "KS2_PROGRESS")
    assert sp.ci_low > cv.ci_high
    assert any(k == "trust" for _, k, _ in res.estimates)


def test_treated_never_in_comparison(result):
    _, res = result
    p = res.prepared
    assert set(p.events["unit"].astype(int)) <= p.excluded
