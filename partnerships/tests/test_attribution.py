"""The pure attribution maths (partnerships/attribution.py) and the merger rule of map_to_results, by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from partnerships import aggregates as agg
from partnerships import attribution as attr


def test_rules_by_the_start_of_the_academic_year() -> None:
    d = [dt.date(2018, 9, 1), dt.date(2018, 9, 2), dt.date(2016, 9, 1), dt.date(2016, 9, 2), None]
    since = np.array([attr.day_number(x) for x in d])
    m = attr.rule_masks(since, 2019)  # 2018/19 starts on 1 September 2018
    assert m["in_trust"].tolist() == [True, False, True, True, False]
    assert m["before_joining"].tolist() == [False, True, False, False, False]
    # 3 full years including 2018/19: in by 1 September 2016
    assert m["three_years"].tolist() == [False, False, True, False, False]


def test_since_date_order() -> None:
    j, o, link = dt.date(2020, 1, 1), dt.date(2015, 9, 1), dt.date(2014, 4, 1)
    assert attr.since_date(j, o, link) == (j, "membership start")
    assert attr.since_date(None, o, link) == (o, "academy opened")
    assert attr.since_date(None, None, link) == (link, "conversion link")
    assert attr.since_date(None, None, None) == (None, "not known")


def test_weights_own_then_predecessor_then_roll() -> None:
    own = np.array([30.0, np.nan, np.nan, np.nan, 0.0])
    pre = np.array([99.0, 20.0, np.nan, np.nan, np.nan])
    roll = np.array([700.0, 700.0, 210.0, np.nan, 70.0])
    w, level = attr.fill_weights(own, pre, roll, ks=2)
    assert w[:3].tolist() == [30.0, 20.0, 30.0] and np.isnan(w[3]) and w[4] == 10.0
    assert level.tolist() == [0, 1, 2, -1, 2]
    w4, _ = attr.fill_weights(np.array([np.nan]), np.array([np.nan]), np.array([1000.0]), ks=4)
    assert w4[0] == 200.0  # years 7 to 11


def test_nearest_predecessor_cohort() -> None:
    graph = {1: [2, 3], 2: [4], 3: []}
    assert attr.nearest_with(1, graph, {2: 10.0, 3: 40.0, 4: 99.0}) == 40.0  # nearest first, then largest
    assert attr.nearest_with(1, graph, {4: 99.0}) == 99.0
    assert np.isnan(attr.nearest_with(1, graph, {}))
    assert np.isnan(attr.nearest_with(1, {1: [1]}, {}))  # a cycle ends


def test_merger_takes_the_larger_cohort_else_the_larger_roll_else_the_lower_urn() -> None:
    graph = {137656: [117539, 137657, 137658]}
    has = {137657, 137658}
    # the 137656 case: both merged predecessors hold 2018/19 results; 137658 had 120 pupils, 137657 had 57
    m = agg.map_to_results(137656, graph, has, {137657: 57.0, 137658: 120.0})
    assert m.results_urn == 137658 and m.method == "link"
    # no cohorts: the larger census roll
    assert (
        agg.map_to_results(137656, graph, has, {}, roll={137657: 449.0, 137658: 127.0}).results_urn == 137657
    )
    # a known cohort beats an unknown one whatever the rolls
    assert agg.map_to_results(137656, graph, has, {137657: 5.0}, roll={137658: 900.0}).results_urn == 137657
    # nothing known: the lower URN
    assert agg.map_to_results(137656, graph, has, {}).results_urn == 137657


def test_bootstrap_is_seeded_and_covers_the_spread() -> None:
    rng = np.random.default_rng(1)
    n = 30
    x = rng.normal(0.0, 1.0, (n, 1))
    w = np.full((n, 1), 50.0)
    c1 = attr.bootstrap_draws(n, (7,))
    c2 = attr.bootstrap_draws(n, (7,))
    assert (c1 == c2).all() and c1.shape == (attr.BOOT_DRAWS, n) and (c1.sum(axis=1) == n).all()
    assert not (attr.bootstrap_draws(n, (8,)) == c1).all()
    lo, hi = attr.bootstrap_intervals(c1, w, x)
    mean = float(x.mean())
    se = float(x.std(ddof=1)) / np.sqrt(n)
    assert lo[0] < mean < hi[0]
    assert hi[0] - lo[0] == pytest.approx(2 * 1.96 * se, rel=0.3)  # near the normal-theory width


def test_bootstrap_needs_two_schools_and_skips_empty_draws() -> None:
    x = np.array([[1.0, 1.0], [np.nan, 3.0], [np.nan, np.nan]])
    w = np.full((3, 2), 10.0)
    lo, hi = attr.bootstrap_intervals(attr.bootstrap_draws(3, (1,)), w, x)
    assert np.isnan(lo[0]) and np.isnan(hi[0])  # one school holds a value
    assert 1.0 <= lo[1] <= hi[1] <= 3.0  # draws without either school are skipped, not counted as 0
