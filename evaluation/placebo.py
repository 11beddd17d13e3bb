"""Run each design with its placebos and decide what may be headlined (pure: no Django).

For one group of treated events (one measure's panel), `run_group` runs every design of `evaluation.designs`
on the real events, then on two placebos:

- ``rtm``: pseudo-events on never-treated schools drawn to match the treated schools' results in their last
  pre-event year (`designs.rtm_pseudo_events`), with the treated schools' timing. Nothing happened to them, so a
  design that reports an effect here is reporting regression to the mean.
- ``early``: every real event moved two years earlier on pre-event data only (`designs.shift_events`).

A design *fails* when a placebo it could be run on has a 95% interval that excludes 0; *passes* when every
placebo it could be run on covers 0 (at least one); is *untested* when none could be run; and reports *not
enough schools yet* (with the number needed) when fewer than ``min_treated`` treated schools could be used.
Only a design that passes is headlined (the first in `DESIGNS` order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from evaluation import designs
from evaluation.designs import EMPTY, BalanceRow, DesignSettings, Interval

DESIGNS = ("matched_did", "pipeline", "event_study")
PLACEBOS = ("rtm", "early")
PASSED, FAILED, UNTESTED, NOT_ENOUGH = "passed", "failed", "untested", "not_enough"


@dataclass(frozen=True)
class GroupData:
    """One measure's panel with everything the designs need (rows = units)."""

    Y: designs.FloatArray  # U x T
    years: designs.IntArray
    cluster: designs.IntArray  # U cluster codes (local authority)
    treated_from: designs.IntArray  # U first affected year (10,000 = not in the window)
    pipeline: designs.BoolArray  # U later converters (not treated in the window)
    X: designs.FloatArray | None = None  # U x T x 2 intake or None


@dataclass(frozen=True)
class DesignOutcome:
    design: str
    estimate: Interval
    placebos: dict[str, Interval]
    status: str
    needed: int  # treated schools needed (min_treated)
    balance: tuple[BalanceRow, ...] = ()
    leads: dict[int, Interval] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    headline: bool = False


def _never(d: GroupData) -> designs.BoolArray:
    return np.asarray(d.treated_from > int(d.years.max()))


def _one(
    design: str,
    d: GroupData,
    Y: designs.FloatArray,
    rows: designs.IntArray,
    lp: designs.IntArray,
    fp: designs.IntArray,
    treated_from: designs.IntArray,
    s: DesignSettings,
    anchor: designs.IntArray | None = None,
) -> tuple[Interval, designs.MatchedResult | designs.EventStudy]:
    all_units = np.ones(len(Y), dtype=bool)
    if design == "event_study":
        never = np.asarray(treated_from > int(d.years.max()))
        es = designs.event_study(Y, d.years, rows, lp, fp, never, d.cluster, s.level)
        return es.att, es
    pool = d.pipeline if design == "pipeline" else all_units
    m = designs.matched_did(Y, d.years, rows, lp, fp, pool, d.cluster, d.X, s, treated_from, anchor)
    return m.estimate, m


def status_of(n_used: int, placebos: dict[str, Interval], min_treated: int) -> str:
    if n_used < min_treated:
        return NOT_ENOUGH
    run = [p for p in placebos.values() if p.ok]
    if not run:
        return UNTESTED
    return PASSED if all(p.covers_zero for p in run) else FAILED


def run_group(
    d: GroupData,
    rows: designs.IntArray,
    last_pre: designs.IntArray,
    first_post: designs.IntArray,
    which: Sequence[str] = DESIGNS,
    settings: DesignSettings = designs.DEFAULT_DESIGN,
    seed: int = 0,
) -> list[DesignOutcome]:
    """Every design in `which` with its placebos for the treated events (rows, last_pre, first_post)."""
    never = _never(d)
    ok = rows >= 0
    n_results = int(sum(np.isfinite(d.Y[r]).sum() >= 2 for r in rows[ok]))
    if n_results < settings.min_treated:
        # not enough schools yet: nothing is fitted
        few = {"events": int(len(rows)), "pseudo_events": 0, "with_results": n_results, "matched": 0}
        return [
            DesignOutcome(
                w, EMPTY, {"rtm": EMPTY, "early": EMPTY}, NOT_ENOUGH, settings.min_treated, (), {}, few
            )
            for w in which
        ]
    # pseudo-events: drawn from never-treated schools outside the pipeline (the pipeline stays a comparison pool)
    p_rows, p_lp, p_fp = designs.rtm_pseudo_events(
        d.Y, d.years, rows, last_pre, first_post, never & ~d.pipeline, seed=seed
    )
    tf_rtm = d.treated_from.copy()
    tf_rtm[p_rows] = np.minimum(tf_rtm[p_rows], p_lp + 1)
    Y_early, lp_early, fp_early = designs.shift_events(
        d.Y, d.years, rows, last_pre, first_post, settings.shift
    )
    out: list[DesignOutcome] = []
    for design in which:
        est, res = _one(design, d, d.Y, rows, last_pre, first_post, d.treated_from, settings)
        plac: dict[str, Interval] = {}
        if est.ok:
            plac["rtm"] = _one(design, d, d.Y, p_rows, p_lp, p_fp, tf_rtm, settings)[0]
            anchor = None if design == "event_study" else last_pre
            plac["early"] = _one(
                design, d, Y_early, rows, lp_early, fp_early, d.treated_from, settings, anchor
            )[0]
        else:
            plac = {"rtm": EMPTY, "early": EMPTY}
        counts: dict[str, int] = {"events": int(len(rows)), "pseudo_events": int(len(p_rows))}
        balance: tuple[BalanceRow, ...] = ()
        leads: dict[int, Interval] = {}
        if isinstance(res, designs.MatchedResult):
            counts.update(with_results=res.n_with_results, matched=res.n_matched)
            balance = res.balance
            used = res.n_matched
        else:
            counts.update(with_results=res.n_treated, matched=res.n_treated)
            leads = res.coefs
            used = res.n_treated
        st = status_of(used, plac, settings.min_treated)
        out.append(DesignOutcome(design, est, plac, st, settings.min_treated, balance, leads, counts))
    # headline: the first design that passes its placebos
    for i, o in enumerate(out):
        if o.status == PASSED:
            out[i] = DesignOutcome(**{**o.__dict__, "headline": True})
            break
    return out


def event_study_leads(
    d: GroupData,
    rows: designs.IntArray,
    last_pre: designs.IntArray,
    first_post: designs.IntArray,
    level: float = 0.95,
) -> designs.EventStudy:
    """The event study alone (leads and lags with intervals) for a chart."""
    return designs.event_study(d.Y, d.years, rows, last_pre, first_post, _never(d), d.cluster, level)
