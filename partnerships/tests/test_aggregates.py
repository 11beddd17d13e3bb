"""The pure aggregate maths against hand-computed values (no database)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from partnerships import aggregates as agg


def test_weighted_mean_progress_by_hand():
    # three schools: values 1.0, -0.5, 2.0 with 30, 60, 10 pupils; sigma 6 for READPROG
    r = agg.weighted_mean("READPROG", [1.0, -0.5, 2.0], [30, 60, 10])
    mean = (30 * 1.0 + 60 * -0.5 + 10 * 2.0) / 100
    se = math.sqrt(30**2 * 36 / 30 + 60**2 * 36 / 60 + 10**2 * 36 / 10) / 100  # = 6 / sqrt(100)
    assert r.mean == pytest.approx(mean)
    assert r.se == pytest.approx(se) == pytest.approx(0.6)
    assert r.low == pytest.approx(mean - 1.96 * se)
    assert r.high == pytest.approx(mean + 1.96 * se)
    assert (r.schools, r.pupils) == (3, 100)


def test_weighted_mean_percent_uses_binomial_se_and_skips_missing():
    r = agg.weighted_mean("PTRWM_EXP", [50.0, float("nan"), 80.0], [100, 40, 0])
    # only the first row counts (NaN value, zero weight dropped)
    assert r.mean == pytest.approx(50.0)
    assert r.se == pytest.approx(100 * math.sqrt(0.25 / 100))
    assert r.schools == 1
    empty = agg.weighted_mean("P8MEA", [], [])
    assert empty.mean is None and empty.schools == 0


def test_grouped_equals_per_group():
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 7, 200)
    x = rng.normal(0, 2, 200)
    w = rng.integers(5, 120, 200).astype(float)
    x[::17] = np.nan
    g = agg.grouped_weighted_means("P8MEA", groups, x, w, 8)
    for i in range(8):
        one = agg.weighted_mean("P8MEA", x[groups == i], w[groups == i])
        if one.mean is None:
            assert g["schools"][i] == 0
            continue
        assert g["mean"][i] == pytest.approx(one.mean)
        assert g["se"][i] == pytest.approx(one.se)
        assert g["schools"][i] == one.schools


def test_haversine_known_distance():
    # London (51.5074, -0.1278) to Birmingham (52.4862, -1.8904): about 101 miles
    d = float(agg.haversine_miles(51.5074, -0.1278, 52.4862, -1.8904))
    assert 99 < d < 103


def test_geography_and_labels():
    # two schools 0.1 degree of latitude apart (~6.9 miles), one LA: compact
    g = agg.geography([52.0, 52.1], [-1.0, -1.0], ["A", "A"])
    assert g.label == "compact"
    assert g.max_pair_miles == pytest.approx(float(agg.haversine_miles(52.0, -1.0, 52.1, -1.0)))
    assert g.centroid_lat == pytest.approx(52.05, abs=1e-6)
    assert g.median_centroid_miles == pytest.approx(g.max_pair_miles / 2, rel=1e-4)
    assert g.share_pairs_within_50 == 1.0
    # three LAs but close: regional (compact needs 1-2 LAs)
    assert agg.geography([52.0, 52.1, 52.2], [-1, -1, -1], ["A", "B", "C"]).label == "regional"
    # London + Birmingham + Newcastle: dispersed, one pair of three within 50 miles? none
    far = agg.geography([51.5074, 52.4862, 54.9783], [-0.1278, -1.8904, -1.6178], ["L", "B", "N"])
    assert far.label == "dispersed" and far.share_pairs_within_50 == 0.0 and far.n_las == 3
    assert agg.geography([np.nan], [np.nan]).label == "unknown"
    assert agg.geography([52.0], [-1.0]).label == "compact"


def test_map_to_results_direct_link_chain_cycle():
    preds = {1: [2], 2: [3], 3: [1], 10: [11, 12], 20: [21], 21: [20]}
    assert agg.map_to_results(1, preds, {1}).method == "direct"
    m = agg.map_to_results(1, preds, {2})
    assert (m.results_urn, m.hops, m.method, m.path) == (2, 1, "link", (1, 2))
    m = agg.map_to_results(1, preds, {3})
    assert (m.results_urn, m.hops, m.method) == (3, 2, "chain")
    # a cycle without results ends as not found
    assert agg.map_to_results(20, preds, set()).method == "none"
    # merger: two predecessors with results, the larger cohort wins
    m = agg.map_to_results(10, preds, {11, 12}, {11: 20, 12: 45})
    assert m.results_urn == 12


def test_grant_bands():
    g = agg.grant(
        [(1, "A", 99), (2, "B", 100), (3, "C", 210), (4, "D", 211), (5, "E", None)], 25000, 5000, 2000
    )
    assert [line.amount for line in g.lines] == [5000, 2000, 2000, 0, 0]
    assert g.total == 25000 + 5000 + 2000 + 2000
    assert (g.small_schools, g.medium_schools) == (1, 2)
