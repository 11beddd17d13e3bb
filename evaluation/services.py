"""'What works' in the app: build the engine's inputs from the database, run the national evaluation and store it
(the write). Reads of stored estimates for pages and the API are in `evaluation.queries`.

Inputs (all from the database):
- events: GIAS Predecessor links (`schools.SchoolLink`) dated in the window whose successor is an academy
  (conversions and sponsor changes, `evaluation.engine.events_from_links`), and support activities
  (`support.SupportActivity`, incl. brokered deployments) starting in the window;
- units: a school's URN at the end of the results window; predecessor URNs linked on or before that date are
  followed (`engine.lineage`) so a converted school's pre-conversion results join its academy URN;
- results: `schools.Result` 2016-2019 for the evaluated measures;
- families: the current similarity run's stored families (`similarity.SchoolSimilarity.family`), else families
  computed with `similarity.core` from the database frames;
- trusts: current (open) `partnerships.Membership` of the treated school, for the by-trust groups.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from django.db import transaction

from audit.kinds import EventKind
from audit.services import record
from evaluation import credible, engine
from evaluation.designs import DEFAULT_DESIGN, DesignSettings, Interval
from evaluation.models import DesignEstimate, EffectEstimate, EvaluationRun, SchoolEvent
from evaluation.national import (
    EVENT_END,
    EVENT_LABELS,
    EVENT_START,
    HEADLINE,
    KS2_HEADLINE,
    LINEAGE_END,
    MEASURE_LABELS,
    PHASE_MEASURES,
    PHASES,
    RAW_MEASURES,
    TREATED_WINDOW,
    YEARS,
    Inputs,
    NationalResult,
    Prepared,
    _dated,
    evaluate_national,
    group_masks,
    prepare,
)
from schoolpartners.types import Actor

__all__ = [
    "EVENT_END",
    "EVENT_LABELS",
    "EVENT_START",
    "HEADLINE",
    "KS2_HEADLINE",
    "LINEAGE_END",
    "MEASURE_LABELS",
    "PHASES",
    "PHASE_MEASURES",
    "RAW_MEASURES",
    "TREATED_WINDOW",
    "YEARS",
    "Inputs",
    "NationalResult",
    "Prepared",
    "evaluate_national",
    "group_masks",
    "prepare",
]
from schools.measures import MEASURES
from schools.models import Result, School, SchoolLink


# ---------------------------------------------------------------------------------------------------------------
# Inputs from the database
# ---------------------------------------------------------------------------------------------------------------
def _links() -> pd.DataFrame:
    rows = list(SchoolLink.objects.values_list("urn", "link_urn", "link_type", "established"))
    return pd.DataFrame(rows, columns=["urn", "link_urn", "link_type", "established"])


def family_urns(fam: Any) -> list[int]:
    """Member URNs of a stored family in any of its stored shapes: {"urn": [...], ...} (parallel lists),
    [[urn, distance, miles, headline], ...] or [{"urn": ...}, ...]."""
    if isinstance(fam, dict):
        return [int(u) for u in fam.get("urn", [])]
    return [int(m["urn"]) if isinstance(m, dict) else int(m[0]) for m in fam or []]


def _families(urns: set[int]) -> tuple[dict[int, list[int]], dict[int, str], str]:
    """Families and phases of the schools `urns` (the treated units; nobody else's family is needed)."""
    from similarity.models import SchoolSimilarity
    from similarity.queries import current_run

    run = current_run()
    if run is not None:
        fams: dict[int, list[int]] = {}
        phase: dict[int, str] = {}
        wanted = sorted(urns)
        for k in range(0, len(wanted), 900):
            rows = SchoolSimilarity.objects.filter(run=run, school_id__in=wanted[k : k + 900]).values_list(
                "school_id", "phase", "family"
            )
            for urn, ph, fam in rows:
                fams[urn] = family_urns(fam)
                phase[urn] = ph
        return fams, phase, f"similarity run {run.pk} [{run.method_hash}]"
    # no stored run: compute the default method's families from the database frames
    from similarity.core import compute_families, prepare_phase
    from similarity.method import DEFAULT_METHOD
    from similarity.services import build_frames

    fams, phase = {}, {}
    for ph, frame in build_frames(DEFAULT_METHOD).items():
        data = prepare_phase(frame, ph, DEFAULT_METHOD)
        f = compute_families(data, DEFAULT_METHOD)
        for u, row in zip(data.urn.tolist(), data.urn[f.index].tolist(), strict=True):
            fams[u] = row
            phase[u] = ph
    return fams, phase, f"computed with similarity.core ({DEFAULT_METHOD.hash})"


def _trusts() -> dict[int, str]:
    from partnerships.models import Kind, Membership

    rows = Membership.objects.filter(
        left__isnull=True, partnership__kind__in=[Kind.MAT, Kind.SAT]
    ).values_list("school_id", "partnership__name")
    return {u: n for u, n in rows}


def _joins() -> pd.DataFrame:
    """Dated joins of a MAT (the 2024/25 files carry no join dates, so these come from later procedures)."""
    from partnerships.models import Kind, Membership

    rows = Membership.objects.filter(joined__isnull=False, partnership__kind=Kind.MAT).values_list(
        "school_id", "joined", "partnership__name"
    )
    return pd.DataFrame(list(rows), columns=["urn", "date", "trust"])


BROKERED = "brokered_deployment"


def _support() -> pd.DataFrame:
    """Support from the ledger (by type) and brokered deployments (type `brokered_deployment`), dated."""
    from brokerage.models import Deployment
    from support.models import SupportActivity

    rows: list[tuple[Any, ...]] = list(
        SupportActivity.objects.values_list("recipient_id", "start_date", "support_type")
    )
    rows += [
        (u, d, BROKERED)
        for u, d in Deployment.objects.filter(start__isnull=False).values_list("need__school_id", "start")
    ]
    return pd.DataFrame(rows, columns=["urn", "date", "support_type"])


def support_event_types() -> list[str]:
    from support.models import SupportType

    return [*(f"support:{c}" for c in SupportType.values), f"support:{BROKERED}"]


def load_inputs() -> Inputs:
    from evaluation.credible import INTAKE_MEASURES

    measures = [m for m in (*RAW_MEASURES, *INTAKE_MEASURES) if m in MEASURES]
    res = list(
        Result.objects.filter(year__in=YEARS, measure__in=measures, value__isnull=False).values_list(
            "school_id", "year", "measure", "value"
        )
    )
    results = pd.DataFrame(res, columns=["urn", "year", "measure", "value"])
    schools = pd.DataFrame(
        list(School.objects.values_list("urn", "establishment_type", "phase", "la_code")),
        columns=["urn", "establishment_type", "phase", "la_code"],
    )
    links = _links()
    support = _support()
    unit_of = engine.lineage(_dated(links, LINEAGE_END))
    ev = engine.events_from_links(links, schools, EVENT_START, EVENT_END)
    treated = {unit_of.get(int(u), int(u)) for u in [*ev["urn"].tolist(), *support["urn"].tolist()]}
    joins = _joins()
    treated |= {unit_of.get(int(u), int(u)) for u in joins["urn"].tolist()}
    fams, phase_of, source = _families(treated)
    return Inputs(links, schools, results, fams, phase_of, source, _trusts(), support, joins)


# ---------------------------------------------------------------------------------------------------------------
# The write
# ---------------------------------------------------------------------------------------------------------------
def _f(x: float) -> float | None:
    return round(float(x), 5) if np.isfinite(x) else None


def _leads(e: engine.GroupEstimate) -> dict[str, Any]:
    return {
        str(r): {"effect": _f(v.effect), "ci_low": _f(v.ci_low), "ci_high": _f(v.ci_high), "n": v.n_treated}
        for r, v in sorted(e.leads.items())
    }


def describe(settings: engine.Settings) -> str:
    return (
        f"Difference-in-differences of results {YEARS[0] - 1}/{str(YEARS[0])[-2:]}–{YEARS[-1] - 1}/"
        f"{str(YEARS[-1])[-2:]} for events dated {EVENT_START:%d %b %Y}–{EVENT_END:%d %b %Y}: each treated school "
        f"against the mean of its similar-schools family members not treated {TREATED_WINDOW[0]:%b %Y}–"
        f"{TREATED_WINDOW[1]:%b %Y} (at least {settings.min_comparison} with a value that year); transition year "
        f"dropped; {int(settings.level * 100)}% percentile cluster bootstrap over treated schools "
        f"({settings.n_boot} draws, seed {settings.seed}); groups need {settings.min_group} schools."
    )


def describe_designs(ds: DesignSettings) -> str:
    return (
        f"Headline designs, each shown only if it passes its placebo tests: matched difference-in-differences "
        f"({ds.k} nearest schools with replacement on pre-event results and intake, caliper {ds.caliper}), the "
        f"pipeline of schools converting from September 2019, and a Sun & Abraham event study with school and year "
        f"effects; {int(ds.level * 100)}% intervals clustered by local authority; placebos: pseudo-events on "
        f"never-treated schools with the same pre-event results, and the event {ds.shift} years early; a design "
        f"needs {ds.min_treated} schools."
    )


@dataclass
class RunReport:
    run: EvaluationRun
    estimates: int
    school_events: int
    read_seconds: float
    compute_seconds: float
    write_seconds: float
    total_seconds: float


def run_national(
    settings: engine.Settings = engine.DEFAULT_SETTINGS,
    actor: Actor | None = None,
    keep: int = 3,
    design_settings: DesignSettings = DEFAULT_DESIGN,
) -> RunReport:
    """Read, evaluate, store one run (current), keep the newest `keep` runs. One transaction + audit event."""
    t0 = time.perf_counter()
    inp = load_inputs()
    t1 = time.perf_counter()
    res = evaluate_national(inp, settings)
    des = credible.evaluate_designs(inp, res.prepared, support_event_types(), design_settings)
    t2 = time.perf_counter()
    prep = res.prepared
    counts = dict(prep.counts)
    for et, ev in res.events.items():
        g = res.gaps[et]
        counts[et] = {
            "events": int(len(ev)),
            "with_family": int(ev["has_family"].sum()),
            "estimable_headline": int(
                sum(
                    np.isfinite(g.effect[i, prep.panel.measures.index(HEADLINE[ph])])
                    for i, ph in enumerate(ev["phase"])
                    if ph in HEADLINE
                )
            ),
        }
    with transaction.atomic():
        run = EvaluationRun.objects.create(
            settings={
                **asdict(settings),
                "years": list(YEARS),
                "event_start": EVENT_START.isoformat(),
                "event_end": EVENT_END.isoformat(),
                "designs": asdict(design_settings),
            },
            description=describe_designs(design_settings) + " Naive comparison: " + describe(settings),
            families_source=inp.families_source,
            counts={**counts, "steps": des.steps, "designs_seconds": round(des.seconds, 3)},
            compute_seconds=round(res.compute_seconds + des.seconds, 3),
        )
        DesignEstimate.objects.bulk_create(_design_rows(run, des), batch_size=500)
        EffectEstimate.objects.bulk_create(
            [
                EffectEstimate(
                    run=run,
                    event_type=et,
                    group=e.group,
                    group_kind=kind,
                    measure=e.measure,
                    effect=_f(e.effect),
                    ci_low=_f(e.ci_low),
                    ci_high=_f(e.ci_high),
                    n_treated=e.n_treated,
                    n_comparison=e.n_comparison,
                    leads=_leads(e),
                )
                for et, kind, e in res.estimates
            ],
            batch_size=500,
        )
        school_events = _school_events(run, res)
        SchoolEvent.objects.bulk_create(school_events, batch_size=1000)
        old = list(
            EvaluationRun.objects.exclude(pk=run.pk)
            .order_by("-created_at", "-id")
            .values_list("pk", flat=True)
        )
        EvaluationRun.objects.filter(pk__in=old[max(keep - 1, 0) :]).delete()
        EvaluationRun.objects.exclude(pk=run.pk).update(is_current=False)
        run.is_current = True
        t3 = time.perf_counter()
        run.total_seconds = round(t3 - t0, 3)
        run.save(update_fields=["is_current", "total_seconds"])
        # school pages show the run's before-and-after chart: a public event kind, so the page cache's data
        # version moves on once the new run is committed
        record(
            EventKind.EVALUATION_RUN,
            actor=actor,
            object_type="evaluation.EvaluationRun",
            object_id=run.pk,
            data={
                "estimates": len(res.estimates),
                "school_events": len(school_events),
                "designs": sum(len(g.outcomes) for g in des.groups),
            },
        )
    return RunReport(run, len(res.estimates), len(school_events), t1 - t0, t2 - t1, t3 - t2, t3 - t0)


def _school_events(run: EvaluationRun, res: NationalResult) -> list[SchoolEvent]:
    panel = res.prepared.panel
    years = panel.years.tolist()
    out: list[SchoolEvent] = []
    for et, ev in res.events.items():
        g = res.gaps[et]
        records: list[dict[Any, Any]] = ev.to_dict("records")
        for i, rec in enumerate(records):
            row = SimpleNamespace(**rec)
            measure = HEADLINE.get(row.phase)
            if measure is None:
                continue
            m = panel.measures.index(measure)
            series = [
                {
                    "year": y,
                    "value": _f(g.value[i, t, m]),
                    "comparison": _f(g.comparison[i, t, m]),
                    "n_comparison": int(g.n_comparison[i, t, m]),
                }
                for t, y in enumerate(years)
            ]
            pred = row.predecessor
            out.append(
                SchoolEvent(
                    run=run,
                    urn=int(row.unit),
                    event_type=et,
                    date=row.date,
                    predecessor=int(pred) if pred is not None and pd.notna(pred) else None,
                    detail=str(row.detail or ""),
                    phase=row.phase,
                    measure=measure,
                    last_pre=int(row.last_pre),
                    first_post=int(row.first_post),
                    effect=_f(g.effect[i, m]),
                    n_comparison=int(g.n_pool[i]),
                    series=series,
                )
            )
    return out


def _iv(iv: Interval) -> dict[str, Any]:
    return {
        "effect": _f(iv.effect),
        "ci_low": _f(iv.ci_low),
        "ci_high": _f(iv.ci_high),
        "n_treated": iv.n_treated,
        "covers_zero": bool(iv.covers_zero) if iv.ok else None,
    }


def _design_rows(run: EvaluationRun, des: credible.DesignsResult) -> list[DesignEstimate]:
    out = []
    for g in des.groups:
        for o in g.outcomes:
            e = o.estimate
            out.append(
                DesignEstimate(
                    run=run,
                    event_type=g.event_type,
                    group=g.group,
                    group_kind=g.group_kind,
                    design=o.design,
                    measure=g.measure,
                    effect=_f(e.effect),
                    ci_low=_f(e.ci_low),
                    ci_high=_f(e.ci_high),
                    se=_f(e.se),
                    n_treated=e.n_treated,
                    n_comparison=e.n_comparison,
                    n_clusters=e.n_clusters,
                    status=o.status,
                    needed=o.needed,
                    headline=o.headline,
                    placebos={k: _iv(v) for k, v in o.placebos.items()},
                    balance=[
                        {
                            "covariate": b.covariate,
                            "treated_mean": _f(b.treated_mean),
                            "pool_mean": _f(b.pool_mean),
                            "matched_mean": _f(b.matched_mean),
                            "smd_before": _f(b.smd_before),
                            "smd_after": _f(b.smd_after),
                            "n_treated": b.n_treated,
                        }
                        for b in o.balance
                    ],
                    leads={
                        str(r): {
                            "effect": _f(v.effect),
                            "ci_low": _f(v.ci_low),
                            "ci_high": _f(v.ci_high),
                            "n": v.n_treated,
                        }
                        for r, v in sorted(o.leads.items())
                    },
                    counts=o.counts,
                )
            )
    return out
