"""The national 'what works' evaluation given its inputs (pure: no Django import).

`evaluation.services.load_inputs` builds `Inputs` from the database and `evaluation.pack.load_inputs` from the
data pack files; `evaluate_national` turns them into estimates per event type, group and measure.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluation import engine
from schools.measures import MEASURES

YEARS: tuple[int, ...] = (2016, 2017, 2018, 2019)
EVENT_START = dt.date(2016, 1, 1)
EVENT_END = dt.date(2018, 12, 31)
#: Links dated up to here are followed to a school's unit URN; anything later is outside the results window.
LINEAGE_END = dt.date(2019, 8, 31)
#: A school with a URN change or support starting in this window is never a comparison school.
TREATED_WINDOW = (dt.date(2015, 9, 1), dt.date(2019, 8, 31))

KS2_HEADLINE = "KS2_PROGRESS"
HEADLINE = {"primary": KS2_HEADLINE, "secondary": "P8MEA"}
PHASE_MEASURES: dict[str, tuple[str, ...]] = {
    "primary": (KS2_HEADLINE, "READPROG", "WRITPROG", "MATPROG", "PTRWM_EXP"),
    "secondary": ("P8MEA", "ATT8SCR"),
}
RAW_MEASURES = ("READPROG", "WRITPROG", "MATPROG", "PTRWM_EXP", "P8MEA", "ATT8SCR")
MEASURE_LABELS = {
    KS2_HEADLINE: "KS2 progress (mean of reading, writing and maths)",
    **{c: m.label for c, m in MEASURES.items()},
}
EVENT_LABELS = {
    "conversion": "Converting to an academy",
    "sponsor_change": "Changing trust or sponsor (academy re-brokered to a new URN)",
    "trust_join": "Joining a trust (dated trust membership, without a new URN)",
}
PHASES = ("primary", "secondary")


@dataclass
class Inputs:
    links: pd.DataFrame
    schools: pd.DataFrame
    results: pd.DataFrame  # urn, year, measure, value
    families: dict[int, list[int]]
    phase_of: dict[int, str]
    families_source: str
    trust_of: dict[int, str]
    support: pd.DataFrame  # urn, date, support_type
    #: dated trust memberships: urn, date (joined), trust; a join within 31 days of the school's own
    #: conversion is part of that conversion, not a separate event
    joins: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["urn", "date", "trust"]))


@dataclass
class Prepared:
    panel: engine.Panel
    events: (
        pd.DataFrame
    )  # unit, urn, predecessor, date, event_type, detail, phase, trust, last_pre, first_post
    excluded: set[int]
    counts: dict[str, Any]
    unit_of: dict[int, int]


def _dated(links: pd.DataFrame, end: dt.date) -> pd.DataFrame:
    d = pd.to_datetime(links["established"], errors="coerce")
    return links[d.notna() & (d <= pd.Timestamp(end))]


def prepare(inp: Inputs) -> Prepared:
    """Units, panel, events and the never-comparison set from the inputs."""
    links = inp.links
    unit_of = engine.lineage(_dated(links, LINEAGE_END))
    long = engine.unit_panel(inp.results, unit_of)
    panel = engine.build_panel(long, YEARS, list(RAW_MEASURES))
    panel = engine.add_mean_measure(panel, KS2_HEADLINE, ("READPROG", "WRITPROG", "MATPROG"))

    counts: dict[str, Any] = {}
    ev = engine.events_from_links(links, inp.schools, EVENT_START, EVENT_END)
    counts["links_in_window"] = int(len(ev))
    ev["unit"] = [unit_of.get(int(u), int(u)) for u in ev["urn"]]
    ev = ev.rename(columns={"kind": "event_type", "conversion_type": "detail"})

    sup = inp.support.copy()
    if len(sup):
        sup["date"] = pd.to_datetime(sup["date"]).dt.date
        sup = sup[(sup["date"] >= EVENT_START) & (sup["date"] <= EVENT_END)]
    sup_rows = []
    for u, d, t in zip(sup.get("urn", []), sup.get("date", []), sup.get("support_type", []), strict=True):
        lp, fp = engine.event_years(d)
        sup_rows.append((int(u), None, d, f"support:{t}", t, lp, fp, unit_of.get(int(u), int(u))))
    own_dates: dict[int, list[dt.date]] = {}
    for u, d in zip(ev["unit"], ev["date"], strict=True):
        own_dates.setdefault(int(u), []).append(d)
    joins = inp.joins.copy()
    if len(joins):
        joins["date"] = pd.to_datetime(joins["date"]).dt.date
        joins = joins[(joins["date"] >= EVENT_START) & (joins["date"] <= EVENT_END)]
    for u, d in zip(joins.get("urn", []), joins.get("date", []), strict=True):
        unit = unit_of.get(int(u), int(u))
        if any(abs((d - o).days) <= 31 for o in own_dates.get(unit, [])):
            continue
        lp, fp = engine.event_years(d)
        sup_rows.append((int(u), None, d, "trust_join", "joined a trust", lp, fp, unit))
    if sup_rows:
        ev = pd.concat(
            [
                ev,
                pd.DataFrame(
                    sup_rows,
                    columns=[
                        "urn",
                        "predecessor",
                        "date",
                        "event_type",
                        "detail",
                        "last_pre",
                        "first_post",
                        "unit",
                    ],
                ),
            ],
            ignore_index=True,
        )
    ev["phase"] = [inp.phase_of.get(int(u), "") for u in ev["unit"]]
    ev["trust"] = [inp.trust_of.get(int(u), "") for u in ev["unit"]]
    ev["has_family"] = [int(u) in inp.families for u in ev["unit"]]

    # never comparison: any school whose URN changed, or that received support, in the treated window
    lo, hi = (pd.Timestamp(x) for x in TREATED_WINDOW)
    d = pd.to_datetime(links["established"], errors="coerce")
    changed = links[links["link_type"].str.startswith("Predecessor") & (d >= lo) & (d <= hi)]
    excluded = {unit_of.get(int(u), int(u)) for u in changed["urn"]}
    excluded |= {unit_of.get(int(u), int(u)) for u in changed["link_urn"]}
    if len(inp.support):
        sd = pd.to_datetime(inp.support["date"])
        excluded |= {unit_of.get(int(u), int(u)) for u in inp.support["urn"][(sd >= lo) & (sd <= hi)]}
    if len(inp.joins):
        jd = pd.to_datetime(inp.joins["date"])
        excluded |= {unit_of.get(int(u), int(u)) for u in inp.joins["urn"][(jd >= lo) & (jd <= hi)]}
    excluded |= set(ev["unit"].astype(int).tolist())
    counts["without_family"] = int((~ev["has_family"]).sum())
    counts["excluded_from_comparison"] = len(excluded)
    return Prepared(panel, ev.reset_index(drop=True), excluded, counts, unit_of)


def group_masks(ev: pd.DataFrame, min_group: int) -> dict[str, tuple[str, np.ndarray]]:
    """Group name -> (group kind, mask over `ev`) for one event type's events."""
    out: dict[str, tuple[str, np.ndarray]] = {"all": ("all", np.ones(len(ev), dtype=bool))}
    phase = ev["phase"].to_numpy()
    detail = ev["detail"].to_numpy()
    for ph in PHASES:
        out[f"phase: {ph}"] = ("phase", phase == ph)
    for t in sorted({str(x) for x in detail.tolist()}):
        out[f"type: {t}"] = ("type", detail == t)
        for ph in PHASES:
            out[f"type: {t} · {ph}"] = ("type_phase", (detail == t) & (phase == ph))
    trust = ev["trust"].to_numpy()
    for name, n in pd.Series(trust[trust != ""]).value_counts().items():
        if n >= min_group:
            out[f"trust: {name}"] = ("trust", trust == name)
    return out


@dataclass
class NationalResult:
    prepared: Prepared
    estimates: list[tuple[str, str, engine.GroupEstimate]]  # (event type, group kind, estimate)
    gaps: dict[str, engine.Gaps]  # event type -> gaps (rows = that type's events)
    events: dict[str, pd.DataFrame]
    compute_seconds: float


def evaluate_national(inp: Inputs, settings: engine.Settings = engine.DEFAULT_SETTINGS) -> NationalResult:
    t0 = time.perf_counter()
    prep = prepare(inp)
    ev_all = prep.events
    estimates: list[tuple[str, str, engine.GroupEstimate]] = []
    gaps: dict[str, engine.Gaps] = {}
    events: dict[str, pd.DataFrame] = {}
    for et in sorted(set(ev_all["event_type"])):
        ev = ev_all[ev_all["event_type"] == et].reset_index(drop=True)
        groups = group_masks(ev, settings.min_group)
        masks = {g: m for g, (_, m) in groups.items()}
        result = engine.evaluate(prep.panel, ev, inp.families, masks, prep.excluded, settings=settings)
        kinds = {g: k for g, (k, _) in groups.items()}
        estimates += [(et, kinds[e.group], e) for e in result.estimates]
        gaps[et] = result.gaps
        events[et] = ev
    return NationalResult(prep, estimates, gaps, events, time.perf_counter() - t0)
