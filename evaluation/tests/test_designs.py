"""The credible designs (evaluation.designs, evaluation.placebo) on synthetic worlds where the truth is known.

The dip simulation (issue 12): treatment assigned after a transitory dip in observed results. The old family
comparison shows its regression-to-the-mean bias; the matched and pipeline designs' 95% intervals cover the
planted effect in at least 90% of 200 seeded runs, and cover zero at about the stated rate when nothing is
planted.
"""

from __future__ import annotations

import numpy as np
import pytest

from evaluation import designs, placebo, simulation

RUNS = 200


@pytest.fixture(scope="module")
def planted() -> dict[str, dict[str, float]]:
    return simulation.coverage(1.0, runs=RUNS, seed=1000)


@pytest.fixture(scope="module")
def null() -> dict[str, dict[str, float]]:
    return simulation.coverage(0.0, runs=RUNS, seed=5000)


@pytest.mark.parametrize("design", ["matched_did", "pipeline"])
def test_new_designs_cover_the_planted_effect(planted: dict[str, dict[str, float]], design: str) -> None:
    assert planted[design]["coverage"] >= 0.90, planted
    assert abs(planted[design]["bias"]) < 0.1, planted


@pytest.mark.parametrize("design", ["matched_did", "pipeline"])
def test_new_designs_cover_zero_at_the_stated_rate(null: dict[str, dict[str, float]], design: str) -> None:
    # 95% stated; 200 runs give a Monte Carlo standard error of about 1.5 points
    assert 0.90 <= null[design]["coverage"] <= 1.0, null
    assert abs(null[design]["bias"]) < 0.1, null


def test_the_old_family_comparison_shows_its_bias(
    planted: dict[str, dict[str, float]], null: dict[str, dict[str, float]]
) -> None:
    # the families regress to the mean with nothing planted: a spurious "effect" far outside its interval
    assert null["family"]["bias"] > 0.25, null
    assert null["family"]["coverage"] < 0.5, null
    assert planted["family"]["coverage"] < 0.5, planted


def test_dip_event_study_fails_its_regression_to_the_mean_placebo() -> None:
    w = simulation.make_world(3, 1.0)
    d = placebo.GroupData(w.Y, w.years, w.cluster, w.treated_from, w.pipeline, w.X)
    out = {o.design: o for o in placebo.run_group(d, w.treated_rows, w.last_pre, w.first_post)}
    es = out["event_study"]
    assert es.status == placebo.FAILED and not es.headline
    assert not es.placebos["rtm"].covers_zero and es.placebos["rtm"].effect > 0.3
    md = out["matched_did"]
    assert md.status == placebo.PASSED and md.headline
    assert md.estimate.ci_low <= 1.0 <= md.estimate.ci_high
    assert sum(o.headline for o in out.values()) == 1


def test_event_study_recovers_a_random_assignment_effect_with_flat_leads() -> None:
    rng = np.random.default_rng(7)
    n, years = 1500, np.arange(2016, 2020, dtype=np.int64)
    Y = rng.normal(size=(n, 1)) + rng.normal(size=(n, 4)) + np.array([0, 0.1, 0.2, 0.3])
    rows = rng.choice(n, 200, replace=False).astype(np.int64)
    lp = np.where(np.arange(200) % 2 == 0, 2017, 2018).astype(np.int64)
    fp = lp + 1
    for r, f in zip(rows, fp, strict=True):
        Y[r, years >= f] += 0.8
    tf = np.full(n, 10_000, dtype=np.int64)
    tf[rows] = fp
    cluster = rng.integers(0, 60, size=n).astype(np.int64)
    es = designs.event_study(Y, years, rows, lp, fp, tf > 2019, cluster)
    assert es.att.ci_low <= 0.8 <= es.att.ci_high
    assert set(es.coefs) == {-3, -2, 0, 1}
    for r in (-3, -2):
        assert es.coefs[r].ci_low <= 0.0 <= es.coefs[r].ci_high
    assert es.coefs[0].n_treated == 200 and es.coefs[1].n_treated == 100


def test_matching_balances_the_pre_event_results() -> None:
    w = simulation.make_world(11, 0.0)
    all_units = np.ones(len(w.Y), dtype=bool)
    m = designs.matched_did(
        w.Y,
        w.years,
        w.treated_rows,
        w.last_pre,
        w.first_post,
        all_units,
        w.cluster,
        w.X,
        treated_from=w.treated_from,
    )
    rows = {b.covariate: b for b in m.balance}
    last = rows["Result, last year before"]
    assert abs(last.smd_before) > 0.5  # treated after a dip: far below the pool
    for b in m.balance:
        assert abs(b.smd_after) <= 0.1, b
    assert 0 < m.n_matched <= m.n_with_results <= m.n_events


def test_pseudo_events_match_the_gap_distribution_and_avoid_the_treated() -> None:
    w = simulation.make_world(2, 0.0)
    never = w.treated_from > 2019
    r, lp, fp = designs.rtm_pseudo_events(
        w.Y, w.years, w.treated_rows, w.last_pre, w.first_post, never, seed=1
    )
    assert len(r) == len(w.treated_rows) and len(set(r.tolist())) == len(r)
    assert not set(r.tolist()) & set(w.treated_rows.tolist())
    t = lp - 2016
    treated_vals = np.sort(w.Y[w.treated_rows, w.last_pre - 2016])
    pseudo_vals = np.sort(w.Y[r, t])
    assert abs(treated_vals.mean() - pseudo_vals.mean()) < 0.05
    assert (fp == lp + 1).all()


def test_shift_events_uses_pre_event_data_only() -> None:
    years = np.arange(2016, 2020, dtype=np.int64)
    Y = np.arange(8, dtype=float).reshape(2, 4)
    Y2, lp, fp = designs.shift_events(Y, years, np.array([0]), np.array([2018]), np.array([2019]), 2)
    assert np.isnan(Y2[0, 3]) and Y2[0, 2] == 2.0 and Y2[1, 3] == 7.0
    assert lp.tolist() == [2016] and fp.tolist() == [2017]


def test_not_enough_schools_names_the_number_needed() -> None:
    w = simulation.make_world(4, 0.0)
    d = placebo.GroupData(w.Y, w.years, w.cluster, w.treated_from, w.pipeline, w.X)
    few = w.treated_rows[:6]
    out = placebo.run_group(d, few, w.last_pre[:6], w.first_post[:6])
    for o in out:
        assert o.status == placebo.NOT_ENOUGH and o.needed == designs.DEFAULT_DESIGN.min_treated
        assert not o.headline
