"""The national credible designs given the evaluation inputs (pure: no Django import).

`evaluate_designs(inp, prep)` builds, for each phase's headline measure (KS2 progress for primary, Progress 8
for secondary), the panel 2016-2019 of every unit, its local authority (cluster), the first year each unit is
affected by a URN change, support or trust join in the window, the pipeline of later converters (GIAS
Predecessor links dated from 1 September 2019 whose successor is an academy: the predecessor's own results
2016-2019 are all before its conversion) and, for KS4, the pre-event intake by year (tested cohort size and
share of girls). It then runs `evaluation.placebo.run_group` for every event type and group, and counts the
schools at each step (links, dated, undated, events, with results, matched).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evaluation import engine, placebo
from evaluation.designs import DEFAULT_DESIGN, DesignSettings
from evaluation.national import HEADLINE, LINEAGE_END, PHASES, TREATED_WINDOW, YEARS, Inputs, Prepared

PIPELINE_FROM = dt.date(2019, 9, 1)
NEVER = 10_000
INTAKE_MEASURES = ("TPUP", "GPUP")
DESIGN_LABELS = {
    "matched_did": "Matched difference-in-differences",
    "pipeline": "Pipeline: schools that converted later",
    "event_study": "Event study (Sun & Abraham)",
    "family": "Naive: against the similar-schools family",
}
PLACEBO_LABELS = {
    "rtm": "Pseudo-events on never-treated schools with the same pre-event results",
    "early": "Fake event two years early (pre-event data only)",
}


@dataclass
class GroupResult:
    event_type: str
    group: str
    group_kind: str
    measure: str
    outcomes: list[placebo.DesignOutcome]


@dataclass
class DesignsResult:
    groups: list[GroupResult]
    steps: dict[str, dict[str, int]]  # event type -> counts at each step
    seconds: float
    event_study_seconds: float


def treated_from(inp: Inputs, prep: Prepared) -> dict[int, int]:
    """Unit -> first academic year affected by its own URN change, support or trust join in the window."""
    out: dict[int, int] = {}
    lo, hi = (pd.Timestamp(x) for x in TREATED_WINDOW)

    def add(units: Sequence[int], dates: Sequence[Any]) -> None:
        for u, d in zip(units, dates, strict=True):
            if d is None or pd.isna(d):
                continue
            ts = pd.Timestamp(d)
            if not (lo <= ts <= hi):
                continue
            unit = prep.unit_of.get(int(u), int(u))
            y = engine.academic_year_of(ts.date())
            out[unit] = min(out.get(unit, NEVER), y)

    links = inp.links[inp.links["link_type"].str.startswith("Predecessor")]
    add(links["urn"].tolist(), links["established"].tolist())
    add(links["link_urn"].tolist(), links["established"].tolist())
    if len(inp.support):
        add(inp.support["urn"].tolist(), inp.support["date"].tolist())
    if len(inp.joins):
        add(inp.joins["urn"].tolist(), inp.joins["date"].tolist())
    ev = prep.events
    for u, lp in zip(ev["unit"], ev["last_pre"], strict=True):
        out[int(u)] = min(out.get(int(u), NEVER), int(lp) + 1)
    return out


def pipeline_units(inp: Inputs) -> set[int]:
    """Predecessors of conversions dated from PIPELINE_FROM (their results in the window are pre-conversion)."""
    ev = engine.events_from_links(inp.links, inp.schools, PIPELINE_FROM, dt.date(2100, 1, 1))
    ev = ev[ev["kind"] == "conversion"]
    return set(ev["predecessor"].astype(int).tolist())


def link_steps(inp: Inputs) -> dict[str, int]:
    links = inp.links[inp.links["link_type"].str.startswith("Predecessor")]
    dated = pd.to_datetime(links["established"], errors="coerce").notna()
    types = dict(
        zip(inp.schools["urn"].astype(int), inp.schools["establishment_type"].fillna(""), strict=True)
    )
    undated = links[~dated]
    undated_academy = sum(engine.is_academy(types.get(int(u), "")) for u in undated["urn"])
    return {
        "links": int(len(links)),
        "dated": int(dated.sum()),
        "undated": int((~dated).sum()),
        "undated_to_academy": int(undated_academy),
    }


def _intake(inp: Inputs, prep: Prepared, units: np.ndarray) -> np.ndarray | None:
    r = inp.results[inp.results["measure"].isin(INTAKE_MEASURES)]
    if not len(r):
        return None
    long = engine.unit_panel(r, prep.unit_of)
    p = engine.build_panel(long, YEARS, list(INTAKE_MEASURES))
    X = np.full((len(units), len(YEARS), 2), np.nan)
    rows = p.rows(units)
    ok = rows >= 0
    tp = p.Y[rows[ok], :, 0]
    gp = p.Y[rows[ok], :, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        X[ok, :, 0] = np.where(tp > 0, np.log(tp), np.nan)
        X[ok, :, 1] = np.where(tp > 0, 100 * gp / tp, np.nan)
    return X


def _clusters(inp: Inputs, units: np.ndarray) -> np.ndarray:
    if "la_code" not in inp.schools.columns:
        return units.astype(np.int64)
    la = dict(zip(inp.schools["urn"].astype(int), inp.schools["la_code"], strict=True))
    out = np.empty(len(units), dtype=np.int64)
    for i, u in enumerate(units.tolist()):
        v = la.get(int(u))
        out[i] = int(v) if v is not None and pd.notna(v) else -int(u)  # unknown authority: its own cluster
    return out


def _groups(ev: pd.DataFrame, et: str) -> list[tuple[str, str, str, np.ndarray]]:
    """(group, kind, phase, mask) for one event type's events: each phase, and each type within a phase."""
    out = []
    phase = ev["phase"].to_numpy()
    detail = ev["detail"].astype(str).to_numpy()
    for ph in PHASES:
        out.append((f"phase: {ph}", "phase", ph, phase == ph))
        if et in ("conversion", "sponsor_change"):
            for t in sorted(set(detail[phase == ph].tolist())):
                out.append((f"type: {t} · {ph}", "type_phase", ph, (phase == ph) & (detail == t)))
    return out


def evaluate_designs(
    inp: Inputs,
    prep: Prepared,
    event_types: Sequence[str] = (),
    settings: DesignSettings = DEFAULT_DESIGN,
) -> DesignsResult:
    """Every design with its placebos for every event type (plus `event_types` with no events yet)."""
    t0 = time.perf_counter()
    panel = prep.panel
    units = panel.units
    tf_map = treated_from(inp, prep)
    tf = np.fromiter((tf_map.get(int(u), NEVER) for u in units), dtype=np.int64, count=len(units))
    pipe = pipeline_units(inp)
    pipeline = np.isin(units, np.fromiter(pipe, dtype=np.int64, count=len(pipe))) & (tf == NEVER)
    cluster = _clusters(inp, units)
    X = _intake(inp, prep, units)
    data = {
        ph: placebo.GroupData(
            panel.Y[:, :, panel.measures.index(HEADLINE[ph])],
            panel.years,
            cluster,
            tf,
            pipeline,
            X if ph == "secondary" else None,
        )
        for ph in PHASES
    }
    base = link_steps(inp)
    ev_all = prep.events
    types = sorted(set(ev_all["event_type"]) | set(event_types))
    groups: list[GroupResult] = []
    steps: dict[str, dict[str, int]] = {}
    es_seconds = 0.0
    for et in types:
        ev = ev_all[ev_all["event_type"] == et].reset_index(drop=True)
        rows = panel.rows(ev["unit"].astype(int).tolist()) if len(ev) else np.zeros(0, dtype=np.int64)
        st = {**base, "events": int(len(ev)), "with_results": 0, "matched": 0}
        which = (
            ("matched_did", "pipeline", "event_study")
            if et == "conversion"
            else ("matched_did", "event_study")
        )
        for name, kind, ph, mask in _groups(ev, et):
            lp = ev["last_pre"].to_numpy(dtype=np.int64)[mask]
            fp = ev["first_post"].to_numpy(dtype=np.int64)[mask]
            t = time.perf_counter()
            seed = engine.seed_for(settings.seed, et, name)
            outs = placebo.run_group(data[ph], rows[mask], lp, fp, which, settings, seed=seed % (2**32))
            es_seconds += time.perf_counter() - t
            groups.append(GroupResult(et, name, kind, HEADLINE[ph], outs))
            if kind == "phase":
                md = outs[0].counts
                st["with_results"] += md.get("with_results", 0)
                st["matched"] += md.get("matched", 0)
        steps[et] = st
    return DesignsResult(groups, steps, time.perf_counter() - t0, es_seconds)


__all__ = ["LINEAGE_END", "DesignsResult", "GroupResult", "evaluate_designs"]
