"""The pure evaluation engine: timing, lineage and events from links, and the estimator on synthetic data with
a known planted effect and with no effect (interval coverage over repeated seeded simulations)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from bench.baselines import naive_effects
from evaluation import engine
from evaluation.engine import (
    Settings,
    build_panel,
    evaluate,
    event_years,
    events_from_links,
    lineage,
    unit_panel,
)

YEARS = (2016, 2017, 2018, 2019)


def simulate(rng: np.random.Generator, effect: float, n_units: int = 600, n_treated: int = 150, k: int = 20):
    """Units in 30 clusters (families drawn within the cluster); unit and cluster-year effects; the treated
    schools' first post year is 2018 or 2019 (staggered); `effect` is added to every post year."""
    units = np.arange(100000, 100000 + n_units)
    cluster = rng.integers(0, 30, n_units)
    alpha = rng.normal(0, 2, n_units)
    shock = rng.normal(0, 0.5, (30, len(YEARS)))
    treated = rng.choice(n_units, n_treated, replace=False)
    first_post = np.where(rng.random(n_treated) < 0.5, 2018, 2019)
    fp_of = dict(zip(treated.tolist(), first_post.tolist(), strict=True))
    rows = []
    for i, u in enumerate(units):
        for t, y in enumerate(YEARS):
            v = alpha[i] + 0.3 * t + shock[cluster[i], t] + rng.normal(0, 1)
            if i in fp_of and y >= fp_of[i]:
                v += effect
            rows.append((u, y, "M", v))
    long = pd.DataFrame(rows, columns=["unit", "year", "measure", "value"])
    fams = {}
    for i in treated:
        same = np.flatnonzero((cluster == cluster[i]) & (np.arange(n_units) != i))
        fams[int(units[i])] = units[rng.choice(same, min(k, len(same)), replace=False)].tolist()
    events = pd.DataFrame({"unit": units[treated], "last_pre": first_post - 1, "first_post": first_post})
    return long, events, fams, units[treated]


def run(long, events, fams, excluded, n_boot=399, seed=1):
    panel = build_panel(long, YEARS, ["M"])
    groups = {"all": np.ones(len(events), dtype=bool)}
    return evaluate(panel, events, fams, groups, excluded, settings=Settings(n_boot=n_boot, seed=seed))


def test_event_years():
    assert event_years(dt.date(2016, 9, 1)) == (2016, 2017)  # 1 Sept: no transition year
    assert event_years(dt.date(2017, 4, 1)) == (2016, 2018)  # 2016/17 is the transition year
    assert event_years(dt.date(2017, 9, 2)) == (2017, 2019)
    assert engine.academic_year_of(dt.date(2018, 8, 31)) == 2018


def test_lineage_follows_chains_and_skips_splits():
    links = pd.DataFrame(
        {
            "urn": [2, 3, 2, 5, 6],
            "link_urn": [1, 2, 1, 4, 4],
            "link_type": ["Predecessor", "Predecessor", "Successor", "Predecessor", "Predecessor"],
        }
    )
    assert lineage(links) == {1: 3, 2: 3}  # 4 split into 5 and 6: not followed


def test_events_from_links_kinds_and_window():
    links = pd.DataFrame(
        {
            "urn": [200, 300, 400, 500, 600],
            "link_urn": [100, 200, 150, 160, 170],
            "link_type": ["Predecessor"] * 5,
            "established": [
                dt.date(2016, 9, 1),
                dt.date(2018, 1, 1),
                dt.date(2015, 6, 1),
                None,
                dt.date(2017, 4, 1),
            ],
        }
    )
    schools = pd.DataFrame(
        {
            "urn": [100, 200, 300, 400, 600],
            "establishment_type": [
                "Community school",
                "Academy - Converter mainstream",
                "Academy sponsor led mainstream",
                "Academy - Converter mainstream",
                "Community school",
            ],
        }
    )
    ev = events_from_links(links, schools)
    assert ev["urn"].tolist() == [200, 300]  # 400 outside the window, 500 undated, 600 not an academy
    assert ev["kind"].tolist() == ["conversion", "sponsor_change"]
    assert ev["conversion_type"].tolist() == ["converter", "sponsored"]
    assert ev[["last_pre", "first_post"]].values.tolist() == [[2016, 2017], [2017, 2019]]


def test_unit_panel_joins_predecessor_results_successor_wins():
    res = pd.DataFrame(
        {
            "urn": [1, 1, 2, 2],
            "year": [2016, 2017, 2017, 2018],
            "measure": ["M"] * 4,
            "value": [1.0, 2.0, 9.0, 3.0],
        }
    )
    p = unit_panel(res, {1: 2}).sort_values("year")
    assert p["unit"].tolist() == [2, 2, 2]
    assert p["value"].tolist() == [1.0, 9.0, 3.0]


def test_planted_effect_is_recovered_within_interval():
    rng = np.random.default_rng(7)
    long, events, fams, treated = simulate(rng, effect=1.5)
    est = run(long, events, fams, treated).get("all", "M")
    assert est.ci_low <= 1.5 <= est.ci_high
    assert est.ci_low > 0.5  # clearly non-zero
    assert est.n_treated == 150
    assert est.n_comparison > 100
    # the pre-trend lead (rel -2) covers zero: no drift was planted
    assert est.leads[-2].ci_low <= 0 <= est.leads[-2].ci_high


def test_engine_matches_naive_loop():
    rng = np.random.default_rng(3)
    long, events, fams, treated = simulate(rng, effect=0.7, n_units=200, n_treated=40)
    ev = run(long, events, fams, treated, n_boot=50)
    naive = naive_effects(long, events, fams, treated, "M")
    np.testing.assert_allclose(ev.gaps.effect[:, 0], naive, rtol=1e-10, atol=1e-12)


def test_bootstrap_is_seeded():
    rng = np.random.default_rng(5)
    long, events, fams, treated = simulate(rng, effect=0.0, n_units=300, n_treated=60)
    a = run(long, events, fams, treated, seed=11).get("all", "M")
    b = run(long, events, fams, treated, seed=11).get("all", "M")
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)


def test_no_effect_interval_covers_zero_at_stated_rate():
    """200 seeded simulations without an effect: the 95% interval covers zero in 90-99% of them."""
    covers = 0
    reps = 200
    for rep in range(reps):
        rng = np.random.default_rng(1000 + rep)
        long, events, fams, treated = simulate(rng, effect=0.0, n_units=400, n_treated=100, k=15)
        est = run(long, events, fams, treated, n_boot=299, seed=rep).get("all", "M")
        covers += est.ci_low <= 0.0 <= est.ci_high
    rate = covers / reps
    assert 0.90 <= rate <= 0.99, rate
