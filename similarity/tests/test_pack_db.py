"""The real data pack imported into the test database: DB-built frames equal the pack loader's frames, and the
stored national coverage equals the pure core's.

One intended difference: the app uses each school's stored coordinates (the register's newest source, the
2024/25 coordinates file), while `similarity.pack` prefers the 2018/19 results files' coordinates. They differ by
metres for most schools, which moves a handful of schools across a coverage radius; the comparison with the core
therefore runs the core on the pack frames with the database's coordinates, and a second check bounds the
effect of the coordinate source against the pure pack figures. (`LA` is also the school's current LA code rather
than the 2019 census code; the core does not use it and the regions agree.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command
from django.test import Client

from similarity import reach, services
from similarity.core import national_recompute
from similarity.method import DEFAULT_METHOD, INTAKE_2025_METHOD
from similarity.models import CoverageFigure, LineageLink, SchoolSimilarity
from similarity.pack import load_frames

pytestmark = [pytest.mark.pack, pytest.mark.django_db(transaction=True)]

INTENDED_DIFFERENCES = {"LA", "LAT", "LON"}
#: columns only the database frames have: the latest Ofsted judgement (partner condition) and the lineage
DB_ONLY = {"OFSTED", "SOURCE_URN", "LINEAGE"}


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    if a.dtype == object or b.dtype == object:
        return (a.fillna("").astype(str) == b.fillna("").astype(str)).to_numpy()
    x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
    return (x == y) | (np.isnan(x) & np.isnan(y))


def test_pack_in_the_database_gives_the_core_results(pack_dir):
    call_command("import", "--all", "--source", str(pack_dir), verbosity=0)
    db = services.build_frames(DEFAULT_METHOD)
    pack = load_frames(pack_dir)
    for phase in ("primary", "secondary"):
        a, b = db[phase], pack[phase]
        assert set(a.columns) - DB_ONLY == set(b.columns), phase
        assert a["URN"].tolist() == b["URN"].tolist()
        for col in sorted(set(b.columns) - INTENDED_DIFFERENCES):
            same = _same(a[col], b[col])
            assert same.all(), (phase, col, a.loc[~same, ["URN", col]].head().to_dict("records"))
        # coordinates: a different source, but nearly always the same place (99% within a quarter of a mile
        # north-south; a few schools moved site between 2019 and 2025)
        dlat = np.abs(a["LAT"].to_numpy() - b["LAT"].to_numpy())
        assert np.nanpercentile(dlat, 99) < 0.25 / 69

    report = services.recompute(DEFAULT_METHOD)
    run = report.run
    assert run.populations == {"primary": 14436, "secondary": 3135}

    # the core on the pack frames, with the database's coordinates (the one intended difference)
    with_db_coords = {
        p: pack[p].drop(columns=["LAT", "LON"]).merge(db[p][["URN", "LAT", "LON", "OFSTED"]], on="URN")
        for p in pack
    }
    core = national_recompute(with_db_coords, DEFAULT_METHOD)
    stored = {
        (f.phase, f.region, f.robust, f.radius_miles): (f.schools, f.covered)
        for f in CoverageFigure.objects.filter(run=run)
    }
    assert (
        len(stored) == len(core.coverage.rows) == 2 * 10 * 5 * 2
    )  # phase x (England + 9 regions) x radii x rules
    for r in core.coverage.rows:
        assert stored[(r.phase, r.region, r.robust, int(r.radius_miles))] == (r.schools, r.covered), r

    # against the pure pack figures (docs/methodology-similarity.md §12) the coordinate source moves at most a
    # few schools per cell
    pure = national_recompute(
        {p: pack[p].merge(db[p][["URN", "OFSTED"]], on="URN") for p in pack}, DEFAULT_METHOD
    )
    for r in pure.coverage.rows:
        schools, covered = stored[(r.phase, r.region, r.robust, int(r.radius_miles))]
        assert schools == r.schools and abs(covered - r.covered) <= 5, r
    england75 = {
        (f.phase, f.robust): round(f.percent, 1) for f in run.coverage.filter(region="", radius_miles=75)
    }
    # partners must not be rated Requires Improvement or Inadequate at their latest inspection (the default)
    assert england75 == {
        ("primary", False): 91.3,
        ("primary", True): 61.8,
        ("secondary", False): 92.3,
        ("secondary", True): 78.6,
    }

    # URN 147400 (the academy that replaced Springwell Community College 112966 in 2019) shows 112966's figures
    link = LineageLink.objects.get(run=run, school_id=147400)
    assert link.source_id == 112966 and link.link_types == ["Predecessor"]
    html = Client().get("/schools/147400/similar/").content.decode()
    assert "Springwell Community College (URN 112966)" in html and "2018/19" in html
    # 112966's nearest better school, Shirebrook Academy 136127, was rated Requires Improvement: passed over
    springwell = SchoolSimilarity.objects.get(run=run, school_id=112966)
    assert springwell.partner_id != 136127
    assert springwell.partners["default"]["passed_over"]["urn"] == 136127
    assert springwell.partners["any_rating"]["urn"] == 136127
    assert "Shirebrook Academy</a> (URN 136127, 6.5 miles) — passed over: rated Requires Improvement" in html

    # families depend on the census only, so they equal the pack's exactly
    prim = core.phases["primary"]
    for i in (0, 5000, prim.data.n - 1):
        urn = int(prim.data.urn[i])
        sim = SchoolSimilarity.objects.get(run=run, school_id=urn)
        assert [m[0] for m in sim.members] == prim.data.urn[prim.families.index[i]].tolist()

    # idempotent on the real data too
    again = services.recompute(DEFAULT_METHOD)
    assert again.replaced == 1 and SchoolSimilarity.objects.count() == 14436 + 3135

    # with any Ofsted judgement allowed (configurable per run) coverage is the method's original figures
    anyrun = services.recompute(DEFAULT_METHOD.with_(partner_exclude_ratings=()), make_current=False).run
    assert {
        (f.phase, f.robust): round(f.percent, 1) for f in anyrun.coverage.filter(region="", radius_miles=75)
    } == {
        ("primary", False): 91.7,
        ("primary", True): 62.2,
        ("secondary", False): 92.6,
        ("secondary", True): 78.9,
    }
    assert SchoolSimilarity.objects.get(run=anyrun, school_id=112966).partner_id == 136127

    # the 2024/25 intake run: a family for >= 97% of open mainstream schools (issue 11), by phase
    services.recompute(INTAKE_2025_METHOD, make_current=False)
    figures = reach.reach()
    # 19,803 in the register + 108 academies created from the MAT files (absent from the June 2024 register)
    assert figures["open_schools"] == 19911
    for phase in ("primary", "secondary"):
        f = figures["phases"][phase]
        assert f["with_family"] / f["open_schools"] >= 0.97, (phase, f)
        assert f["with_partner_any_rating"] >= f["with_partner"]
