"""A small synthetic world in the database for the evaluation tests: primary schools with KS2 progress
2016-2019, some converted to academies on 1 Sept 2017 (new URN, predecessor link) with a planted effect, and
stored similar-schools families."""

from __future__ import annotations

import datetime as dt

import numpy as np

from schools.models import Phase, Result
from schools.tests.factories import ResultFactory, SchoolFactory, SchoolLinkFactory
from similarity.tests.factories import SchoolSimilarityFactory, SimilarityRunFactory

YEARS = (2016, 2017, 2018, 2019)
EFFECT = 2.0
N_TREATED = 12
N_CONTROL = 30


def build(effect: float = EFFECT, seed: int = 0) -> dict[str, list[int]]:
    rng = np.random.default_rng(seed)
    treated = [140000 + i for i in range(N_TREATED)]
    preds = [110000 + i for i in range(N_TREATED)]
    controls = [120000 + i for i in range(N_CONTROL)]
    schools = {}
    for u in controls:
        schools[u] = SchoolFactory(
            urn=u, phase=Phase.PRIMARY, establishment_type="Community school", la_code=800 + u % 7
        )
    for u, p in zip(treated, preds, strict=True):
        schools[p] = SchoolFactory(
            urn=p, phase=Phase.PRIMARY, establishment_type="Community school", status="closed"
        )
        schools[u] = SchoolFactory(
            urn=u,
            phase=Phase.PRIMARY,
            establishment_type="Academy - Converter mainstream",
            la_code=800 + u % 7,
        )
        SchoolLinkFactory(
            urn=u, link_urn=p, link_type="Predecessor", established=dt.date(2017, 9, 1), source="test"
        )
        SchoolLinkFactory(
            urn=p, link_urn=u, link_type="Successor", established=dt.date(2017, 9, 1), source="test"
        )
    rows = []
    for u in controls + treated:
        base = rng.normal(0, 1.5)
        for y in YEARS:
            owner = u
            bump = 0.0
            if u in treated:
                owner = preds[treated.index(u)] if y <= 2017 else u
                bump = effect if y >= 2018 else 0.0
            for m in ("READPROG", "WRITPROG", "MATPROG"):
                rows.append(
                    ResultFactory.build(
                        school=schools[owner],
                        year=y,
                        measure=m,
                        value=round(base + bump + rng.normal(0, 0.3), 3),
                        source="test",
                    )
                )
    Result.objects.bulk_create(rows)  # ~500 factory-built rows in one insert
    run = SimilarityRunFactory(method={"year": 2019}, method_hash="test", description="test", is_current=True)
    for u in controls + treated:
        fam = [c for c in controls if c != u][:20] + [t for t in treated if t != u][:5]
        SchoolSimilarityFactory(
            run=run,
            school=schools[u],
            phase="primary",
            headline=0.0,
            top_of_family=True,
            partners={"default": {"top_of_family": True}, "robust": {"top_of_family": True}},
            family={
                "urn": fam,
                "distance": [1.0] * len(fam),
                "miles": [1.0] * len(fam),
                "headline": [0.0] * len(fam),
            },
        )
    return {"treated": treated, "predecessors": preds, "controls": controls}
