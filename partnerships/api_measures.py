"""JSON API of "is this trust good?": the DfE trust measures of one trust in plain words with England, the
median trust, percentile and interval, and trusts side by side. Mounted inside the partnerships router
(partnerships/api.py), so under /api/partnerships."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from partnerships import trust_measures as tm
from partnerships.models import Partnership
from partnerships.schemas import SideBySideOut, SideBySideQuery, TrustMeasuresOut
from schoolpartners.access import PUBLIC_READ
from schoolpartners.apikit import MAX_ID, operation
from schoolpartners.errors import NotFound
from schoolpartners.params import Id

router = Router(tags=["partnerships"])


def _brief(p: Partnership) -> dict[str, Any]:
    return {"id": p.pk, "name": p.name, "external_id": p.external_id}


@router.get(
    "/trusts/{int:trust_id}/measures",
    **operation(
        PUBLIC_READ,
        TrustMeasuresOut,
        summary="Is this trust good? The DfE trust measures against England and all trusts",
        description="The DfE's latest trust measures (MAT performance files) for one partnership: each measure's "
        "plain label and DfE code, the trust's value, a 95% Wilson interval from its pupil count (percentages), the "
        "England figure (pupil-weighted over all trusts in the file), the median trust, the trust's percentile "
        "and a verdict against England by the interval, with the summary sentence. Empty `measures` when the DfE "
        "publishes none for this partnership.",
        problems=(404,),
    ),
)
def trust_measures(request: HttpRequest, trust_id: Id) -> dict[str, Any]:
    p = tm.partnership(trust_id) if 0 < trust_id <= MAX_ID else None
    if p is None:
        raise NotFound("No such partnership")
    m = tm.for_trust(p)
    return {
        **_brief(p),
        "year": m.year if m else None,
        "academic_year": m.academic_year if m else "",
        "summary": m.summary.sentence if m else "",
        "summary_disadvantaged": m.summary_disadvantaged.sentence if m else "",
        "above": m.summary.above if m else 0,
        "similar": m.summary.similar if m else 0,
        "below": m.summary.below if m else 0,
        "england_basis": tm.ENGLAND_BASIS,
        "not_published": list(tm.dm.NOT_PUBLISHED),
        "measures": [tm.figure_row(f, m.year) for f in m.figures] if m else [],
    }


@router.get(
    "/trusts/side-by-side",
    **operation(
        PUBLIC_READ,
        SideBySideOut,
        summary="Trusts side by side with England and the median trust",
        description="The Compare trusts page's side-by-side table: up to 6 multi-academy trusts picked by name or "
        "DfE id (`pick`), with England and the median trust for each DfE trust measure. Terms matching no trust "
        "or several are listed in `unmatched` and `ambiguous`.",
    ),
)
def side_by_side(request: HttpRequest, query: Query[SideBySideQuery]) -> dict[str, Any]:
    picks = tm.resolve(query.pick)
    ctx = tm.context()
    rows = tm.side_by_side(picks.trusts, ctx) if ctx else []
    return {
        "year": ctx.year if ctx else None,
        "trusts": [_brief(p) for p in picks.trusts],
        "unmatched": picks.unmatched,
        "ambiguous": {t: [_brief(p) for p in found] for t, found in picks.ambiguous.items()},
        "rows": [
            {
                "key": r.measure.key,
                "code": r.measure.code(r.group),
                "label": r.measure.label,
                "group": r.group,
                "unit": r.measure.unit,
                "england": r.england,
                "median": r.median,
                "trusts": r.trusts,
                "cells": [
                    {
                        "trust_id": p.pk,
                        "value": c.value,
                        "note": c.note,
                        "low": c.low,
                        "high": c.high,
                        "verdict": c.verdict,
                        "percentile": c.percentile,
                    }
                    for p, c in zip(picks.trusts, r.cells, strict=True)
                ],
            }
            for r in rows
        ],
    }
