"""Similar schools in the app: build the core's input frames from the database and run the national recompute
(the write).

`recompute()` is the only write; it stores one `SimilarityRun` with its `SchoolSimilarity` and `CoverageFigure`
rows in one transaction with an audit event, replacing the previous run of the same method. Reads of stored
results for pages and the API are in `similarity.queries`.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection, models, transaction

from audit.services import record
from schoolpartners.regions import english_region
from schoolpartners.types import Actor
from schools.models import CensusRecord, Result
from similarity import sources
from similarity.core import (
    NO_PARTNER,
    NationalResult,
    Partners,
    PhaseResult,
    challenge_pairs,
    national_recompute,
)
from similarity.method import CENSUS_TYPE, DEFAULT_METHOD, PHASES, Method
from similarity.models import CoverageFigure, LineageLink, SchoolSimilarity, SimilarityRun
from similarity.pack import YEAR_GROUPS

#: Pupils at the end of the key stage, per phase (n for standard errors).
PUPIL_MEASURE = {"primary": "TELIG", "secondary": "TPUP"}

BATCH = 2000

Progress = Callable[[str, int, int], None]  # (step, done, total)


# ---------------------------------------------------------------------------------------------------------------
# Input frames from the database
# ---------------------------------------------------------------------------------------------------------------
def _result_columns(method: Method, phase: str) -> list[str]:
    cols = list(method.headline_columns(phase))
    for m in method.measures_for(phase):
        if m not in cols:
            cols.append(m)
    return cols


def _results_wide(year: int, measures: Sequence[str], urns: Iterable[int], suffix: str = "") -> pd.DataFrame:
    """Result values of one year as one column per measure (NaN for suppressed or missing)."""
    rows = list(
        Result.objects.filter(year=year, measure__in=list(measures)).values_list(
            "school_id", "measure", "value"
        )
    )
    wanted = set(urns)
    df = pd.DataFrame(rows, columns=["URN", "measure", "value"])
    df = df[df["URN"].isin(wanted)]
    if df.empty:
        return pd.DataFrame({"URN": pd.Series([], dtype="int64")})
    wide = df.pivot(index="URN", columns="measure", values="value").astype("float64")
    wide.columns = [f"{c}{suffix}" for c in wide.columns]
    return wide.reset_index()


def build_frames(method: Method = DEFAULT_METHOD) -> dict[str, pd.DataFrame]:
    """One frame per phase in the shape of `similarity.pack.load_frames`, read from the database.

    Population: schools whose census of `method.year` has the phase's `school_type`. Columns: URN, LA, LAT,
    LON, REGION (the school's LA region, mapped to the nine English regions), NOR, PNUMFSMEVER, PNUMEAL,
    PSENELK, PSENELSE, PSEN, LOG_NOR, the results of `method.year` (headline and measure columns that have
    any stored value), history columns `<headline>_<year>` and `PUPILS_<year>` for the other robust years,
    PUPILS and PUPILS_SOURCE. Coordinates are the school's stored (newest) coordinates. Pupils for standard
    errors: the published count of `method.year` when stored, else the latest earlier robust year, else
    NOR / year groups (the pack's 2018/19 files have no counts, so this equals the pack loader there).
    """
    out: dict[str, pd.DataFrame] = {}
    census = pd.DataFrame(
        list(
            CensusRecord.objects.filter(
                year=method.year, school_type__in=list(CENSUS_TYPE.values())
            ).values_list(
                "school_id",
                "school_type",
                "nor",
                "pct_fsm_ever",
                "pct_eal",
                "pct_sen_support",
                "pct_sen_ehcp",
                "school__la_code",
                "school__latitude",
                "school__longitude",
                "school__region_name",
                "school__ofsted_rating",
            )
        ),
        columns=[
            "URN",
            "SCHOOLTYPE",
            "NOR",
            "PNUMFSMEVER",
            "PNUMEAL",
            "PSENELK",
            "PSENELSE",
            "LA",
            "LAT",
            "LON",
            "REGION_NAME",
            "OFSTED",
        ],
    )
    for col in ("NOR", "PNUMFSMEVER", "PNUMEAL", "PSENELK", "PSENELSE", "LA", "LAT", "LON"):
        census[col] = pd.to_numeric(census[col], errors="coerce").astype("float64")
    census["URN"] = census["URN"].astype("int64")
    census["PSEN"] = census["PSENELK"] + census["PSENELSE"]
    with np.errstate(divide="ignore", invalid="ignore"):
        census["LOG_NOR"] = np.log(census["NOR"].where(census["NOR"] > 0))
    census["REGION"] = census["REGION_NAME"].fillna("").map(english_region)
    census = census.drop(columns=["REGION_NAME"])

    for phase in PHASES:
        df = census[census["SCHOOLTYPE"] == CENSUS_TYPE[phase]].copy()
        urns = df["URN"].tolist()
        cols = _result_columns(method, phase)
        hy = method.headline_year_for(phase)
        if method.lineage:
            lineages = sources.lineage_sources(urns, hy, method.headline_columns(phase), PUPIL_MEASURE[phase])
            wanted = {lin.source for lin in lineages.values() if lin.source is not None}
            now = sources.rekey_by_source(_results_wide(hy, [*cols, PUPIL_MEASURE[phase]], wanted), lineages)
        else:
            now = _results_wide(hy, [*cols, PUPIL_MEASURE[phase]], urns)
        df = df.merge(now, on="URN", how="left")
        for c in method.headline_columns(phase):  # headline columns always present (NaN when none stored)
            if c not in df.columns:
                df[c] = np.nan
        if PUPIL_MEASURE[phase] in df.columns:
            df = df.rename(columns={PUPIL_MEASURE[phase]: f"PUPILS_{method.year}"})
        for extra in ("SOURCE_URN", "LINEAGE"):
            if extra not in df.columns:
                df[extra] = None
        history_years = sorted((y for y in method.robust_years if y != method.year), reverse=True)
        for y in sorted(history_years):
            hist = _results_wide(
                y, [*method.headline_columns(phase), PUPIL_MEASURE[phase]], urns, suffix=f"_{y}"
            )
            hist = hist.rename(columns={f"{PUPIL_MEASURE[phase]}_{y}": f"PUPILS_{y}"})
            df = df.merge(hist, on="URN", how="left")
            for c in [*(f"{h}_{y}" for h in method.headline_columns(phase)), f"PUPILS_{y}"]:
                if c not in df.columns:
                    df[c] = np.nan
        fallback = df["NOR"] / YEAR_GROUPS[phase]
        pupils = pd.Series(np.nan, index=df.index, dtype="float64")
        source = pd.Series("", index=df.index, dtype=object)
        for y in [method.year, *history_years]:
            col = f"PUPILS_{y}"
            if col in df.columns:
                take = pupils.isna() & df[col].notna()
                pupils = pupils.where(~take, df[col])
                source = source.where(~take, str(y))
        take = pupils.isna() & fallback.notna()
        pupils = pupils.where(~take, fallback)
        source = source.where(~take, "NOR")
        df["PUPILS"] = pupils
        df["PUPILS_SOURCE"] = source
        out[phase] = df.sort_values("URN").reset_index(drop=True)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Recompute (the write)
# ---------------------------------------------------------------------------------------------------------------
def _r(x: float, nd: int) -> float | None:
    return round(float(x), nd) if math.isfinite(x) else None


def _rounded(a: np.ndarray, nd: int) -> list[list[float | None]]:
    """Rounded nested lists with NaN/inf as None, converted in one pass."""
    obj = np.round(a, nd).astype(object)
    obj[~np.isfinite(a)] = None
    out: list[list[float | None]] = obj.tolist()
    return out


def _partner_dicts(d_urn: np.ndarray, p: Partners) -> list[dict[str, Any]]:
    idx = p.index
    urn = np.where(idx != NO_PARTNER, d_urn[np.maximum(idx, 0)], NO_PARTNER).tolist()
    miles = p.miles.tolist()
    within = p.within_radius.tolist()
    top = p.top_of_family.tolist()
    return [
        {"urn": u if u != NO_PARTNER else None, "miles": _r(m, 3), "within_radius": w, "top_of_family": t}
        for u, m, w, t in zip(urn, miles, within, top, strict=True)
    ]


def school_rows(
    res: PhaseResult,
    method: Method,
    run: SimilarityRun,
    frame: pd.DataFrame,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """One SchoolSimilarity row per school of the phase, as {attname: value} (arrays converted to lists once,
    not per school; no model instances: `_insert` writes them in bulk)."""
    d, fam, st = res.data, res.families, res.strengths
    n = d.n
    urns = d.urn.tolist()
    fam_urn = d.urn[fam.index].tolist()
    fam_dist = np.round(fam.distance, 5).tolist()
    fam_miles = np.round(fam.miles, 3).tolist()
    fam_head = _rounded(d.headline[fam.index], 4)
    headline = d.headline.tolist()
    pupils = d.pupils.tolist()
    by_urn = frame.drop_duplicates("URN").set_index("URN")
    nor = by_urn["NOR"].reindex(d.urn).tolist() if "NOR" in by_urn else [None] * n
    psrc = (
        by_urn["PUPILS_SOURCE"].reindex(d.urn).fillna("").tolist() if "PUPILS_SOURCE" in by_urn else [""] * n
    )
    src_urn = by_urn["SOURCE_URN"].reindex(d.urn).tolist() if "SOURCE_URN" in by_urn else [None] * n
    lineage = by_urn["LINEAGE"].reindex(d.urn).tolist() if "LINEAGE" in by_urn else [None] * n
    feats = d.features.tolist()
    fnames = list(method.feature_names)
    default = _partner_dicts(d.urn, res.partners)
    robust = _partner_dicts(d.urn, res.robust_partners)
    any_rating = _partner_dicts(d.urn, res.any_rating_partners) if res.any_rating_partners else default
    for dflt, anyr in zip(default, any_rating, strict=True):
        if anyr["urn"] is not None and anyr["urn"] != dflt["urn"]:
            # a nearer better school was passed over for its Ofsted judgement
            dflt["passed_over"] = {"urn": anyr["urn"], "miles": anyr["miles"]}
    chosen = robust if method.robust else default
    M = len(st.measures)
    arrays = [
        _rounded(a, nd)
        for a, nd in ((st.value, 4), (st.family_mean, 4), (st.family_sd, 4), (st.z, 4), (st.percentile, 2))
    ]
    flags = st.flag.tolist()
    counts = st.family_n.tolist()
    has_pair: set[int] = set()
    if res.challenge is not None:
        has_pair = set(np.flatnonzero((res.challenge.score > 0).any(axis=1)).tolist())
    rows: list[dict[str, Any]] = []
    for i in range(n):
        strengths = {
            st.measures[k]: {
                "value": arrays[0][i][k],
                "family_mean": arrays[1][i][k],
                "family_sd": arrays[2][i][k],
                "z": arrays[3][i][k],
                "percentile": arrays[4][i][k],
                "flag": flags[i][k],
                "n": counts[i][k],
            }
            for k in range(M)
        }
        pairs: list[dict[str, Any]] = []
        if i in has_pair and res.challenge is not None:
            pairs = [
                {
                    "urn": p.urn,
                    "miles": round(p.miles, 3),
                    "score": round(p.score, 4),
                    "gain_self": round(p.gain_self, 4),
                    "gain_other": round(p.gain_other, 4),
                    "we_learn": list(p.we_learn),
                    "they_learn": list(p.they_learn),
                }
                for p in challenge_pairs(d, fam, res.challenge, i)
            ]
        features: dict[str, Any] = {f: _r(v, 4) for f, v in zip(fnames, feats[i], strict=True)}
        nor_i = nor[i]
        features["NOR"] = int(nor_i) if nor_i is not None and math.isfinite(nor_i) else None
        c = chosen[i]
        rows.append(
            {
                "run_id": run.pk,
                "school_id": urns[i],
                "phase": d.phase,
                "headline": _r(headline[i], 6),
                "pupils": _r(pupils[i], 2),
                "pupils_source": str(psrc[i]),
                "features": features,
                # parallel lists, most similar first (rank = position + 1)
                "family": {
                    "urn": fam_urn[i],
                    "distance": fam_dist[i],
                    "miles": fam_miles[i],
                    "headline": fam_head[i],
                },
                "partner_id": c["urn"],
                "partner_miles": c["miles"],
                "partner_within_radius": c["within_radius"],
                "top_of_family": c["top_of_family"],
                "partners": {"default": default[i], "robust": robust[i], "any_rating": any_rating[i]},
                "source_urn": _src(src_urn[i]),
                "lineage": lineage[i] if isinstance(lineage[i], dict) else {},
                "strengths": strengths,
                "challenge_pairs": pairs,
            }
        )
        if progress and (i + 1) % BATCH == 0:
            progress(f"{d.phase}: rows", i + 1, n)
    return rows


def _src(x: Any) -> int | None:
    f = sources.finite_or_none(x)
    return int(f) if f is not None else None


def coverage_figures(result: NationalResult, run: SimilarityRun) -> list[CoverageFigure]:
    return [
        CoverageFigure(
            run=run,
            phase=r.phase,
            region=r.region,
            radius_miles=int(round(r.radius_miles)),
            robust=r.robust,
            schools=r.schools,
            covered=r.covered,
            percent=r.percent if r.schools else None,
        )
        for r in result.coverage.rows
    ]


_FIELDS = [f for f in SchoolSimilarity._meta.concrete_fields if not f.primary_key]
_JSON = {f.attname for f in _FIELDS if isinstance(f, models.JSONField)}


def _insert(rows: list[dict[str, Any]]) -> None:
    """Bulk insert of one batch of school rows: COPY on PostgreSQL, one executemany elsewhere (JSON sent as text)."""
    table = SchoolSimilarity._meta.db_table
    cols = ", ".join(connection.ops.quote_name(f.column) for f in _FIELDS)
    values = [
        [
            json.dumps(r[f.attname], separators=(",", ":")) if f.attname in _JSON else r[f.attname]
            for f in _FIELDS
        ]
        for r in rows
    ]
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as cp:
                for v in values:
                    cp.write_row(v)
        else:
            marks = ", ".join(["%s"] * len(_FIELDS))
            cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", values)


class EmptyPopulation(ValueError):
    pass


@dataclass
class RecomputeReport:
    run: SimilarityRun
    seconds: dict[str, float] = field(default_factory=dict)
    replaced: int = 0


def recompute(
    method: Method = DEFAULT_METHOD,
    make_current: bool = True,
    progress: Progress | None = None,
    actor: Actor | None = None,
    frames: dict[str, pd.DataFrame] | None = None,
) -> RecomputeReport:
    """Run the national recompute for `method` and store it as one run (one transaction, audited).

    A previous run of the same method (same hash) is deleted, so re-running replaces rather than
    accumulates. With `make_current` the new run becomes the one pages show; otherwise it is stored beside the
    current run (and still becomes current if no run is current).
    """
    seconds: dict[str, float] = {}
    t_all = t0 = time.perf_counter()
    if progress:
        progress("read", 0, 1)
    if frames is None:
        frames = build_frames(method)
    seconds["read"] = time.perf_counter() - t0
    if progress:
        progress("read", 1, 1)
        progress("compute", 0, 1)
    t0 = time.perf_counter()
    result = national_recompute(frames, method)
    seconds["compute"] = time.perf_counter() - t0
    if progress:
        progress("compute", 1, 1)
    total_rows = sum(r.data.n for r in result.phases.values())
    if total_rows == 0:
        raise EmptyPopulation(
            f"no school has a {method.year} census of a mainstream type together with {method.year} headline "
            "results: nothing stored (import that year's census and results first)"
        )
    t0 = time.perf_counter()
    with transaction.atomic():
        old = list(SimilarityRun.objects.filter(method_hash=method.hash).values_list("id", flat=True))
        if old:
            # delete children first in plain bulk deletes (no per-row collection)
            LineageLink.objects.filter(run_id__in=old).delete()
            SchoolSimilarity.objects.filter(run_id__in=old).delete()
            CoverageFigure.objects.filter(run_id__in=old).delete()
            SimilarityRun.objects.filter(id__in=old).delete()
        if make_current:
            SimilarityRun.objects.filter(is_current=True).update(is_current=False)
        current = make_current or not SimilarityRun.objects.filter(is_current=True).exists()
        run = SimilarityRun.objects.create(
            method=method.to_dict(),
            method_hash=method.hash,
            description=method.description(),
            is_current=current,
            populations=result.populations,
            excluded={p: dict(r.data.excluded) for p, r in result.phases.items()},
            feature_sd={
                p: {
                    f: float(s) for f, s in zip(method.feature_names, r.data.feature_sd.tolist(), strict=True)
                }
                for p, r in result.phases.items()
            },
            source=_source_info(frames),
            compute_seconds=seconds["compute"],
        )
        done = 0
        seconds["build_rows"] = seconds["insert"] = 0.0
        for phase, res in result.phases.items():
            t1 = time.perf_counter()
            rows = school_rows(res, method, run, frames[phase], progress=None)
            t2 = time.perf_counter()
            seconds["build_rows"] += t2 - t1
            for s in range(0, len(rows), BATCH):
                _insert(rows[s : s + BATCH])
                done += len(rows[s : s + BATCH])
                if progress:
                    progress("write", done, total_rows)
            seconds["insert"] += time.perf_counter() - t2
        CoverageFigure.objects.bulk_create(coverage_figures(result, run), batch_size=BATCH)
        run_pupils = {
            int(u): float(p) if np.isfinite(p) else 0.0
            for r in result.phases.values()
            for u, p in zip(r.data.urn.tolist(), r.data.pupils.tolist(), strict=True)
        }
        LineageLink.objects.bulk_create(
            [LineageLink(**row) for row in sources.lineage_link_rows(run_pupils, run.pk)], batch_size=BATCH
        )
        seconds["write"] = time.perf_counter() - t0
        seconds["total"] = time.perf_counter() - t_all
        run.total_seconds = seconds["total"]
        run.save(update_fields=["total_seconds"])
        record(
            "similarity.recompute",
            actor=actor,
            object_type="similarity.SimilarityRun",
            object_id=run.pk,
            data={
                "method_hash": method.hash,
                "description": run.description,
                "populations": run.populations,
                "replaced_runs": old,
                "is_current": current,
                "seconds": {k: round(v, 3) for k, v in seconds.items()},
            },
        )
    return RecomputeReport(run=run, seconds=seconds, replaced=len(old))


def _source_info(frames: dict[str, pd.DataFrame]) -> dict[str, Any]:
    info: dict[str, Any] = {}
    for phase, df in frames.items():
        src = df["PUPILS_SOURCE"].value_counts().to_dict() if "PUPILS_SOURCE" in df else {}
        info[phase] = {
            "census_schools": int(len(df)),
            "pupils_source": {str(k): int(v) for k, v in src.items()},
        }
    return info
