"""The dip simulation (pure: no Django): treatment assigned after a transitory dip in observed results.

World: U schools in L local authorities, results 2016-2019 = school level (related to intake) + year effect +
local-authority-year shock + a transitory school-year shock, plus `effect` in the treated schools' post-event
years. Each school is a candidate for an event on 1 September 2017 or 2018; it is treated with a probability
that rises steeply as its result in the last year before falls (a transitory dip, like a school taken over after
a bad year). Later converters (the pipeline) are a random share of all schools, not treated in the window
(the pipeline design's assumption: when they convert is unrelated to their results in the window). The old
family comparison (similar intake, not similar prior results) regresses to the mean with the treated; the
matched designs compare with schools that had the same dip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation import designs
from evaluation.designs import DesignSettings, Interval


@dataclass(frozen=True)
class World:
    Y: designs.FloatArray
    X: designs.FloatArray
    years: designs.IntArray
    treated_rows: designs.IntArray
    last_pre: designs.IntArray
    first_post: designs.IntArray
    never: designs.BoolArray  # never treated, not in the pipeline
    pipeline: designs.BoolArray
    cluster: designs.IntArray
    intake: designs.FloatArray  # what families are formed on
    treated_from: designs.IntArray  # first treated year per school (10,000 = not in the window)


def make_world(
    seed: int,
    effect: float = 0.0,
    n: int = 2400,
    n_la: int = 80,
    selection: float = 1.5,
    base: float = -3.5,
    pipeline_share: float = 0.15,
) -> World:
    rng = np.random.default_rng(seed)
    years = np.arange(2016, 2020, dtype=np.int64)
    T = len(years)
    intake = rng.normal(size=n)
    level = 0.7 * intake + rng.normal(scale=0.7, size=n)
    la = rng.integers(0, n_la, size=n)
    la_shock = rng.normal(scale=0.25, size=(n_la, T + 1))
    year_fx = np.array([0.0, 0.1, 0.15, 0.2, 0.25])
    eps = rng.normal(size=(n, T + 1))
    Yall = level[:, None] + year_fx[None, :] + la_shock[la] + eps  # 2016..2020
    lp = np.where(rng.random(n) < 0.5, 2017, 2018).astype(np.int64)
    t_lp = lp - 2016
    y_lp = Yall[np.arange(n), t_lp]
    pipeline = rng.random(n) < pipeline_share  # chosen before and apart from the window's results
    p = 1 / (1 + np.exp(-(base - selection * (y_lp - y_lp.mean()))))
    treated = (rng.random(n) < p) & ~pipeline
    Y = Yall[:, :T].copy()
    rows = np.nonzero(treated)[0].astype(np.int64)
    fp = lp + 1
    for r in rows:
        Y[r, years >= fp[r]] += effect
    X = np.stack(
        [np.log(30) + rng.normal(scale=0.3, size=(n, T)), 50 + rng.normal(scale=5, size=(n, T))], axis=2
    )
    never = ~treated & ~pipeline
    treated_from = np.full(n, 10_000, dtype=np.int64)
    treated_from[rows] = fp[rows]
    return World(
        Y, X, years, rows, lp[rows], fp[rows], never, pipeline, la.astype(np.int64), intake, treated_from
    )


def family_did(w: World, k: int = 20, seed: int = 0) -> Interval:
    """The old design: each treated school against the mean of its k nearest-intake untreated schools, the
    percentile bootstrap over treated schools only (comparison means held fixed)."""
    from evaluation.engine import bootstrap_mean

    untreated = np.nonzero(w.never | w.pipeline)[0]
    order = np.argsort(w.intake[untreated])
    srt = w.intake[untreated][order]
    eff = []
    for r, lp in zip(w.treated_rows, w.last_pre, strict=True):
        j = int(np.searchsorted(srt, w.intake[r]))
        lo = max(0, min(j - k // 2, len(srt) - k))
        fam = untreated[order[lo : lo + k]]
        pre = w.years <= lp
        post = w.years > lp
        gap = w.Y[r] - w.Y[fam].mean(axis=0)
        eff.append(gap[post].mean() - gap[pre].mean())
    e = bootstrap_mean(np.asarray(eff), 199, 0.95, np.random.default_rng(seed))
    return Interval(e.effect, e.ci_low, e.ci_high, float("nan"), e.n_treated, k, 0)


def run_designs(
    w: World, settings: DesignSettings = designs.DEFAULT_DESIGN, event_study: bool = False
) -> dict[str, Interval]:
    all_ = np.ones(len(w.Y), dtype=bool)
    out = {
        "family": family_did(w),
        "matched_did": designs.matched_did(
            w.Y,
            w.years,
            w.treated_rows,
            w.last_pre,
            w.first_post,
            all_,
            w.cluster,
            w.X,
            settings,
            w.treated_from,
        ).estimate,
        "pipeline": designs.matched_did(
            w.Y,
            w.years,
            w.treated_rows,
            w.last_pre,
            w.first_post,
            w.pipeline,
            w.cluster,
            w.X,
            settings,
            w.treated_from,
        ).estimate,
    }
    if event_study:
        out["event_study"] = designs.event_study(
            w.Y,
            w.years,
            w.treated_rows,
            w.last_pre,
            w.first_post,
            w.treated_from > 2019,
            w.cluster,
            settings.level,
        ).att
    return out


def coverage(
    effect: float, runs: int = 200, seed: int = 0, event_study: bool = False
) -> dict[str, dict[str, float]]:
    """Share of `runs` seeded worlds whose 95% interval covers `effect`, mean estimate and mean bias per design."""
    hits: dict[str, list[bool]] = {}
    ests: dict[str, list[float]] = {}
    for i in range(runs):
        w = make_world(seed + i, effect)
        for name, iv in run_designs(w, event_study=event_study).items():
            hits.setdefault(name, []).append(bool(iv.ok and iv.ci_low <= effect <= iv.ci_high))
            ests.setdefault(name, []).append(iv.effect)
    return {
        name: {
            "coverage": float(np.mean(hits[name])),
            "mean_estimate": float(np.nanmean(ests[name])),
            "bias": float(np.nanmean(ests[name]) - effect),
            "runs": float(runs),
        }
        for name in hits
    }
