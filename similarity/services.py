"""Similar schools in the app: build the core's input frames from the database, run the national recompute and
store it (writes), and read stored results for pages and the API (reads).

Writes: `recompute()` is the only write; it stores one `SimilarityRun` with its `SchoolSimilarity` and
`CoverageFigure` rows in one transaction with an audit event, replacing the previous run of the same method.

Reads never compute anything: a school page is one indexed read of its `SchoolSimilarity` row plus one read of
its family members' rows.
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
from django.db.models import OuterRef, QuerySet, Subquery

from audit.services import record
from schools.measures import MEASURES
from schools.models import CensusRecord, Result, School
from similarity.core import (
    NO_PARTNER,
    NationalResult,
    Partners,
    PhaseResult,
    challenge_pairs,
    national_recompute,
)
from similarity.method import CENSUS_TYPE, DEFAULT_METHOD, PHASES, Method
from similarity.models import CoverageFigure, SchoolSimilarity, SimilarityRun
from similarity.pack import SUBREGION_TO_REGION, YEAR_GROUPS

#: Pupils at the end of the key stage, per phase (n for standard errors).
PUPIL_MEASURE = {"primary": "TELIG", "secondary": "TPUP"}

#: Feature labels for pages and exports.
FEATURE_LABELS = {
    "PNUMFSMEVER": "% FSM ever 6",
    "PNUMEAL": "% EAL",
    "PSEN": "% SEN (support + EHCP)",
    "LOG_NOR": "ln(number on roll)",
    "NOR": "Number on roll",
}

BATCH = 2000

Progress = Callable[[str, int, int], None]  # (step, done, total)


def region_of(name: str) -> str:
    """A stored LA region name ("London East", "North West A") -> one of the nine English regions ("" if none)."""
    name = (name or "").strip()
    for prefix, region in SUBREGION_TO_REGION.items():
        if name.startswith(prefix):
            return region
    return ""


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
        ],
    )
    for col in ("NOR", "PNUMFSMEVER", "PNUMEAL", "PSENELK", "PSENELSE", "LA", "LAT", "LON"):
        census[col] = pd.to_numeric(census[col], errors="coerce").astype("float64")
    census["URN"] = census["URN"].astype("int64")
    census["PSEN"] = census["PSENELK"] + census["PSENELSE"]
    with np.errstate(divide="ignore", invalid="ignore"):
        census["LOG_NOR"] = np.log(census["NOR"].where(census["NOR"] > 0))
    census["REGION"] = census["REGION_NAME"].fillna("").map(region_of)
    census = census.drop(columns=["REGION_NAME"])

    for phase in PHASES:
        df = census[census["SCHOOLTYPE"] == CENSUS_TYPE[phase]].copy()
        urns = df["URN"].tolist()
        cols = _result_columns(method, phase)
        now = _results_wide(method.year, [*cols, PUPIL_MEASURE[phase]], urns)
        df = df.merge(now, on="URN", how="left")
        for c in method.headline_columns(phase):  # headline columns always present (NaN when none stored)
            if c not in df.columns:
                df[c] = np.nan
        if PUPIL_MEASURE[phase] in df.columns:
            df = df.rename(columns={PUPIL_MEASURE[phase]: f"PUPILS_{method.year}"})
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
    fam_head = np.round(d.headline[fam.index], 4).tolist()
    headline = d.headline.tolist()
    pupils = d.pupils.tolist()
    by_urn = frame.drop_duplicates("URN").set_index("URN")
    nor = by_urn["NOR"].reindex(d.urn).tolist() if "NOR" in by_urn else [None] * n
    psrc = (
        by_urn["PUPILS_SOURCE"].reindex(d.urn).fillna("").tolist() if "PUPILS_SOURCE" in by_urn else [""] * n
    )
    feats = d.features.tolist()
    fnames = list(method.feature_names)
    default = _partner_dicts(d.urn, res.partners)
    robust = _partner_dicts(d.urn, res.robust_partners)
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
                "partners": {"default": default[i], "robust": robust[i]},
                "strengths": strengths,
                "challenge_pairs": pairs,
            }
        )
        if progress and (i + 1) % BATCH == 0:
            progress(f"{d.phase}: rows", i + 1, n)
    return rows


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
    actor: Any = None,
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


# ---------------------------------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------------------------------
class RunNotFound(Exception):
    pass


def current_run() -> SimilarityRun | None:
    return SimilarityRun.objects.filter(is_current=True).order_by("-id").first()


def get_run(run_id: int | str | None = None) -> SimilarityRun | None:
    """The run asked for (`?run=<id>`), else the current run. Raises RunNotFound for an unknown id."""
    if run_id in (None, ""):
        return current_run()
    try:
        pk = int(run_id)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise RunNotFound(str(run_id)) from exc
    run = SimilarityRun.objects.filter(pk=pk).first()
    if run is None:
        raise RunNotFound(str(run_id))
    return run


def runs() -> QuerySet[SimilarityRun]:
    return SimilarityRun.objects.order_by("-is_current", "-created_at", "-id")


def run_info(run: SimilarityRun) -> dict[str, Any]:
    m = run.method or {}
    return {
        "run_id": run.pk,
        "method_hash": run.method_hash,
        "method_description": run.description,
        "is_current": run.is_current,
        "created_at": run.created_at,
        "year": m.get("year"),
        "family_size": m.get("family_size"),
        "radius_miles": m.get("radius_miles"),
        "robust": bool(m.get("robust")),
        "populations": run.populations,
    }


def _school_brief(s: School | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {
        "urn": s.urn,
        "name": s.name,
        "town": s.town,
        "postcode": s.postcode,
        "la_name": s.la_name,
        "latitude": s.latitude,
        "longitude": s.longitude,
    }


def school_similarity(urn: int, run: SimilarityRun | None) -> SchoolSimilarity | None:
    if run is None:
        return None
    return SchoolSimilarity.objects.filter(run=run, school_id=urn).select_related("school", "partner").first()


def family_rows(sim: SchoolSimilarity) -> list[dict[str, Any]]:
    """The family with each member's name, phase, pupils and features (one query for the members' rows)."""
    urns = [m[0] for m in sim.members]
    members: dict[int, dict[str, Any]] = {
        r["school_id"]: dict(r)
        for r in SchoolSimilarity.objects.filter(run_id=sim.run_id, school_id__in=urns).values(
            "school_id", "school__name", "school__town", "phase", "features", "pupils"
        )
    }
    out = []
    for rank, (urn, distance, miles, headline) in enumerate(sim.members, start=1):
        m = members.get(urn, {})
        feats = m.get("features") or {}
        row: dict[str, Any] = {
            "rank": rank,
            "urn": urn,
            "name": m.get("school__name", ""),
            "town": m.get("school__town", ""),
            "phase": m.get("phase", sim.phase),
            "distance": distance,
            "miles": miles,
            "headline": headline,
            "pupils": feats.get("NOR"),
        }
        for f, v in feats.items():
            if f != "NOR":
                row[f] = v
        out.append(row)
    return out


FLAG_LABEL = {1: "strength", -1: "weakness", 0: "none"}


def strength_rows(sim: SchoolSimilarity) -> list[dict[str, Any]]:
    out = []
    for code, s in sim.strengths.items():
        m = MEASURES.get(code)
        out.append(
            {
                "measure": code,
                "label": m.label if m else code,
                "value": s.get("value"),
                "family_mean": s.get("family_mean"),
                "family_sd": s.get("family_sd"),
                "z": s.get("z"),
                "percentile": s.get("percentile"),
                "flag": FLAG_LABEL.get(int(s.get("flag") or 0), "none"),
                "family_values": s.get("n"),
            }
        )
    return out


def _labels(codes: Sequence[str]) -> list[str]:
    return [MEASURES[c].label if c in MEASURES else c for c in codes]


def pair_rows(sim: SchoolSimilarity) -> list[dict[str, Any]]:
    urns = [p["urn"] for p in sim.challenge_pairs]
    names = dict(School.objects.filter(urn__in=urns).values_list("urn", "name"))
    return [
        {
            "urn": p["urn"],
            "name": names.get(p["urn"], ""),
            "miles": p["miles"],
            "score": p["score"],
            "gain_self": p["gain_self"],
            "gain_other": p["gain_other"],
            "we_learn": p["we_learn"],
            "they_learn": p["they_learn"],
            "we_learn_labels": _labels(p["we_learn"]),
            "they_learn_labels": _labels(p["they_learn"]),
        }
        for p in sim.challenge_pairs
    ]


def partner_info(
    sim: SchoolSimilarity, run: SimilarityRun, schools: dict[int, School] | None = None
) -> dict[str, Any]:
    """The partner shown for the run's method, with both rules' partners for reference."""
    radius = (run.method or {}).get("radius_miles", 75.0)
    rules = sim.partners or {}
    if schools is None:
        urns = [p.get("urn") for p in rules.values() if p.get("urn")]
        schools = {s.urn: s for s in School.objects.filter(urn__in=urns)}

    def one(p: dict[str, Any]) -> dict[str, Any]:
        urn = p.get("urn")
        if p.get("top_of_family"):
            status = "top_of_family"
        elif p.get("within_radius"):
            status = "within_radius"
        else:
            status = "outside_radius"
        return {
            "status": status,
            "miles": p.get("miles"),
            "within_radius": bool(p.get("within_radius")),
            "top_of_family": bool(p.get("top_of_family")),
            "school": _school_brief(schools.get(urn)) if urn else None,
        }

    chosen = "robust" if (run.method or {}).get("robust") else "default"
    return {
        "radius_miles": radius,
        "rule": chosen,
        "partner": one(rules.get(chosen, {})),
        "default": one(rules.get("default", {})),
        "robust": one(rules.get("robust", {})),
    }


def coverage_rows(run: SimilarityRun) -> list[dict[str, Any]]:
    qs = CoverageFigure.objects.filter(run=run).order_by("phase", "robust", "region", "radius_miles")
    return [
        dict(r)
        for r in qs.values("phase", "region", "radius_miles", "robust", "schools", "covered", "percent")
    ]


def coverage_summary(run: SimilarityRun, robust: bool = False) -> dict[str, dict[str, float | None]]:
    """{"primary": {"10": percent, ...}, "secondary": {...}} for England."""
    out: dict[str, dict[str, float | None]] = {}
    for r in CoverageFigure.objects.filter(run=run, region="", robust=robust).order_by(
        "phase", "radius_miles"
    ):
        out.setdefault(r.phase, {})[str(r.radius_miles)] = r.percent
    return out


def school_summary_context(urn: int) -> dict[str, Any]:
    """Context for the short summary on the school page (partner and top-3 family).

    One query when the school has no stored result (the current run with the school's row id, if any), three
    when it has one (that, the row, the partner and top-3 names).
    """
    run = (
        SimilarityRun.objects.filter(is_current=True)
        .annotate(
            sim_id=Subquery(
                SchoolSimilarity.objects.filter(run=OuterRef("pk"), school_id=urn).values("id")[:1]
            )
        )
        .order_by("-id")
        .first()
    )
    if run is None or run.sim_id is None:  # type: ignore[attr-defined]
        return {"run": run, "sim": None}
    sim = SchoolSimilarity.objects.get(pk=run.sim_id)  # type: ignore[attr-defined]
    top3 = sim.members[:3]
    partner_urns = [p.get("urn") for p in (sim.partners or {}).values() if p.get("urn")]
    schools = {x.urn: x for x in School.objects.filter(urn__in=[m[0] for m in top3] + partner_urns)}
    return {
        "run": run,
        "sim": sim,
        "partner": partner_info(sim, run, schools)["partner"],
        "top3": [
            {"urn": m[0], "name": schools[m[0]].name if m[0] in schools else str(m[0]), "miles": m[2]}
            for m in top3
        ],
        "pairs": len(sim.challenge_pairs),
    }
