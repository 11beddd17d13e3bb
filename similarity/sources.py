"""Where a run's figures come from: results through the results lineage, and the lineage links of open schools
outside a run's population (reads used by `similarity.services.recompute`; no writes here).

The walk itself is `schools.lineage` (pure); the links are read through `schools.history`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Count, Q

from schools.history import OPEN_STATUSES, results_lineages
from schools.lineage import Lineage
from schools.models import CensusRecord, Result, School
from similarity.method import CENSUS_TYPE

#: the census year defining "open mainstream schools" (reach, lineage links)
OPEN_CENSUS_YEAR = 2025


def urns_with_headline(year: int, headline: Sequence[str]) -> set[int]:
    """Schools with every headline column published (non-suppressed) for `year`."""
    qs = (
        Result.objects.filter(year=year, measure__in=list(headline), value__isnull=False)
        .values("school_id")
        .annotate(n=Count("measure"))
        .filter(n=len(set(headline)))
        .values_list("school_id", flat=True)
    )
    return set(qs)


def pupils_of(year: int, measure: str) -> dict[int, float]:
    return {
        u: float(v or 0.0)
        for u, v in Result.objects.filter(year=year, measure=measure, value__isnull=False).values_list(
            "school_id", "value"
        )
    }


def lineage_sources(
    urns: Iterable[int], year: int, headline: Sequence[str], pupil_measure: str
) -> dict[int, Lineage]:
    """Each school's results lineage for `year`: itself when it has the headline, else the nearest GIAS
    predecessor that has (larger cohort, then lower URN, on a tie)."""
    return results_lineages(list(urns), urns_with_headline(year, headline), pupils_of(year, pupil_measure))


def rekey_by_source(wide: pd.DataFrame, lineages: dict[int, Lineage]) -> pd.DataFrame:
    """A wide results frame keyed by source URN -> the same values keyed by each school whose lineage has that
    source, with SOURCE_URN and LINEAGE (path, link types) columns for schools whose figures are not their own."""
    pairs = [(u, lin.source) for u, lin in lineages.items() if lin.source is not None]
    if not pairs:
        return pd.DataFrame({"URN": pd.Series([], dtype="int64")})
    m = pd.DataFrame(pairs, columns=["URN", "_SRC"])
    out = m.merge(wide.rename(columns={"URN": "_SRC"}), on="_SRC", how="left")
    borrowed = out["URN"] != out["_SRC"]
    out["SOURCE_URN"] = out["_SRC"].where(borrowed)
    out["LINEAGE"] = [
        {"path": list(lineages[u].path), "link_types": list(lineages[u].link_types)} if b else None
        for u, b in zip(out["URN"].tolist(), borrowed.tolist(), strict=True)
    ]
    return out.drop(columns=["_SRC"])


def open_mainstream() -> dict[int, str]:
    """{urn: phase} of open state-funded primary and secondary schools in the 2024/25 census."""
    phase_of = {t: p for p, t in CENSUS_TYPE.items()}
    rows = CensusRecord.objects.filter(
        Q(school__status__in=OPEN_STATUSES),
        year=OPEN_CENSUS_YEAR,
        school_type__in=list(CENSUS_TYPE.values()),
    ).values_list("school_id", "school_type")
    return {u: phase_of[t] for u, t in rows}


def lineage_link_rows(run_urns: dict[int, float], run_id: int) -> list[dict[str, Any]]:
    """For every open mainstream school outside the run: the nearest predecessor in the run (larger pupils,
    then lower URN), as LineageLink field dicts."""
    targets = [u for u in open_mainstream() if u not in run_urns]
    found = results_lineages(targets, set(run_urns), run_urns)
    return [
        {
            "run_id": run_id,
            "school_id": lin.urn,
            "source_id": lin.source,
            "path": list(lin.path),
            "link_types": list(lin.link_types),
        }
        for lin in found.values()
        if lin.source is not None and lin.source != lin.urn
    ]


def ofsted_by_urn(urns: Iterable[int]) -> dict[int, tuple[str, Any]]:
    return {
        u: (r, d)
        for u, r, d in School.objects.filter(urn__in=list(urns)).values_list(
            "urn", "ofsted_rating", "ofsted_date"
        )
    }


def finite_or_none(x: Any) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None
