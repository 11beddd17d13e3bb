"""Building the core's frames from the database, storing a recompute, and properties of the stored results."""

from __future__ import annotations

import json
import math
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from schoolpartners.regions import english_region
from similarity import queries, services
from similarity.core import national_recompute
from similarity.management.commands.similarity import parse_weights
from similarity.models import CoverageFigure, SchoolSimilarity, SimilarityRun
from similarity.tests.population import PRIMARY, SECONDARY, build_population, method_small

pytestmark = pytest.mark.django_db

PACK_COLUMNS_PRIMARY = {
    "URN",
    "LA",
    "SCHOOLTYPE",
    "NOR",
    "PNUMFSMEVER",
    "PNUMEAL",
    "PSENELK",
    "PSENELSE",
    "PSEN",
    "LOG_NOR",
    "READPROG",
    "WRITPROG",
    "MATPROG",
    "LAT",
    "LON",
    "REGION",
    "READPROG_2017",
    "WRITPROG_2017",
    "MATPROG_2017",
    "PUPILS_2017",
    "READPROG_2018",
    "WRITPROG_2018",
    "MATPROG_2018",
    "PUPILS_2018",
    "PUPILS",
    "PUPILS_SOURCE",
}


@pytest.fixture
def population() -> dict[str, list[int]]:
    return build_population()


@pytest.fixture
def stored(population: dict[str, list[int]]) -> SimilarityRun:
    return services.recompute(method_small()).run


def test_build_frames_has_the_pack_shape(population: dict[str, list[int]]) -> None:
    frames = services.build_frames(method_small())
    p = frames["primary"]
    # the columns similarity.pack.load_phase produces, plus the latest Ofsted judgement and the results lineage
    assert set(p.columns) == PACK_COLUMNS_PRIMARY | {"OFSTED", "SOURCE_URN", "LINEAGE"}
    assert list(p["URN"]) == sorted(p["URN"])
    assert len(p) == PRIMARY + 1  # every census school, incomplete rows kept (the core filters them)
    row = p[p["URN"] == 200003].iloc[0]
    assert row["PSEN"] == pytest.approx(row["PSENELK"] + row["PSENELSE"])
    assert row["LOG_NOR"] == pytest.approx(math.log(row["NOR"]))
    assert row["REGION"] == "London"  # "London East" -> the English region
    assert row["PUPILS"] == 30 and row["PUPILS_SOURCE"] == "2018"
    last = p[p["URN"] == 200000 + PRIMARY - 1].iloc[0]
    assert last["PUPILS_SOURCE"] == "NOR" and last["PUPILS"] == pytest.approx(last["NOR"] / 7)
    assert math.isnan(p[p["URN"] == 209999].iloc[0]["READPROG"])
    s = frames["secondary"]
    assert {"P8MEA", "ATT8SCR", "PTL2BASICS_95", "PTEBACC_E_PTQ_EE", "EBACCAPS", "P8MEA_2018"} <= set(
        s.columns
    )
    assert len(s) == SECONDARY


def test_recompute_stores_one_run_with_every_school(stored: SimilarityRun) -> None:
    assert stored.is_current and stored.method_hash == method_small().hash
    assert stored.description == method_small().description()
    assert stored.populations == {"primary": PRIMARY, "secondary": SECONDARY}
    assert stored.excluded["primary"] == {"no headline": 1}
    assert SchoolSimilarity.objects.filter(run=stored).count() == PRIMARY + SECONDARY
    # phase x (England + 2 regions) x 5 radii x 2 rules
    assert CoverageFigure.objects.filter(run=stored).count() == 2 * 3 * 5 * 2
    event = AuditEvent.objects.get(action="similarity.recompute")
    assert event.object_id == str(stored.pk) and event.data["method_hash"] == stored.method_hash


def test_stored_results_equal_the_core(population: dict[str, list[int]]) -> None:
    method = method_small()
    run = services.recompute(method).run
    res = national_recompute(services.build_frames(method), method)
    for pr in res.phases.values():
        for i, urn in enumerate(pr.data.urn.tolist()):
            sim = SchoolSimilarity.objects.get(run=run, school_id=urn)
            assert [m[0] for m in sim.members] == pr.data.urn[pr.families.index[i]].tolist()
            j = int(pr.partners.index[i])
            assert sim.partner_id == (int(pr.data.urn[j]) if j >= 0 else None)
    for r in res.coverage.rows:
        f = CoverageFigure.objects.get(
            run=run, phase=r.phase, region=r.region, robust=r.robust, radius_miles=int(r.radius_miles)
        )
        assert (f.schools, f.covered) == (r.schools, r.covered)


def test_properties_of_stored_results(stored: SimilarityRun) -> None:
    radius = stored.method["radius_miles"]
    for sim in SchoolSimilarity.objects.filter(run=stored):
        urns = [m[0] for m in sim.members]
        assert sim.school_id not in urns, "a family excludes the school itself"
        assert len(urns) == len(set(urns)) == 8
        distances = [m[1] for m in sim.members]
        assert distances == sorted(distances)
        assert sim.headline is not None
        better = [m for m in sim.members if m[3] > sim.headline]
        if not better:
            assert sim.top_of_family and sim.partner_id is None
            continue
        assert not sim.top_of_family
        nearest = min(better, key=lambda m: (m[2], m[0]))
        assert sim.partner_id == nearest[0], "the partner is the nearest better member"
        assert sim.partner_miles == pytest.approx(nearest[2], abs=1e-3)
        assert sim.partner_within_radius == (nearest[2] <= radius)
        partner = SchoolSimilarity.objects.get(run=stored, school_id=sim.partner_id)
        assert partner.headline is not None and partner.headline > sim.headline
        for p in sim.challenge_pairs:
            assert p["urn"] in urns and p["miles"] <= radius and p["score"] > 0
            assert p["we_learn"] and p["they_learn"]


def test_recompute_is_idempotent_and_replaces_the_same_method(stored: SimilarityRun) -> None:
    n = SchoolSimilarity.objects.count()
    figures = list(
        CoverageFigure.objects.order_by("phase", "region", "robust", "radius_miles").values_list(
            "phase", "region", "robust", "radius_miles", "covered"
        )
    )
    again = services.recompute(method_small())
    assert again.replaced == 1
    assert SimilarityRun.objects.count() == 1 and SchoolSimilarity.objects.count() == n
    assert (
        list(
            CoverageFigure.objects.order_by("phase", "region", "robust", "radius_miles").values_list(
                "phase", "region", "robust", "radius_miles", "covered"
            )
        )
        == figures
    )
    # another method is stored beside it; --no-current keeps the current run
    other = services.recompute(method_small(family_size=5), make_current=False).run
    assert SimilarityRun.objects.count() == 2 and not other.is_current
    assert queries.current_run() == again.run
    robust = services.recompute(method_small(robust=True)).run
    assert queries.current_run() == robust and SimilarityRun.objects.filter(is_current=True).count() == 1
    sim = SchoolSimilarity.objects.filter(run=robust).first()
    assert sim is not None and sim.partner_id == sim.partners["robust"]["urn"]


def test_command_recompute_and_coverage_json(population: dict[str, list[int]]) -> None:
    out, err = StringIO(), StringIO()
    call_command(
        "similarity",
        "recompute",
        "--family-size",
        "8",
        "--radius",
        "60",
        "--weights",
        "fsm=2,eal=1,sen=1,nor=1",
        stdout=out,
        stderr=err,
    )
    assert "Stored run" in out.getvalue() and "total" in out.getvalue()
    run = SimilarityRun.objects.get()
    assert run.method["family_size"] == 8 and run.method["radius_miles"] == 60
    assert dict((f, w) for f, w in run.method["features"])["PNUMFSMEVER"] == 2
    assert "write" in err.getvalue()  # tqdm progress on stderr
    out = StringIO()
    call_command("similarity", "coverage", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert set(data) == {"primary", "secondary"}
    for phase, curve in data.items():
        assert list(curve) == ["10", "25", "50", "75", "100"]
        for radius, percent in curve.items():
            f = CoverageFigure.objects.get(
                run=run, phase=phase, region="", robust=False, radius_miles=int(radius)
            )
            assert percent == pytest.approx(f.percent)
            assert percent == pytest.approx(100 * f.covered / f.schools)
        assert list(curve.values()) == sorted(curve.values())  # coverage never falls as R grows
    table = StringIO()
    call_command("similarity", "coverage", stdout=table)
    assert "primary" in table.getvalue() and "75 mi" in table.getvalue()


def test_command_errors() -> None:
    with pytest.raises(CommandError, match="no similarity run"):
        call_command("similarity", "coverage", "--json", stdout=StringIO())
    with pytest.raises(CommandError, match="unknown feature"):
        parse_weights("height=2")
    with pytest.raises(CommandError, match="positive"):
        parse_weights("fsm=0,eal=0,sen=0,nor=0")


def test_recompute_refuses_an_empty_population(population: dict[str, list[int]]) -> None:
    with pytest.raises(CommandError, match="nothing stored"):
        call_command("similarity", "recompute", "--year", "2025", stdout=StringIO(), stderr=StringIO())
    assert not SimilarityRun.objects.exists()


def test_parse_weights_zero_drops_a_feature() -> None:
    assert parse_weights("nor=0, fsm=3") == (("PNUMFSMEVER", 3.0), ("PNUMEAL", 1.0), ("PSEN", 1.0))


def test_english_region_maps_subregions() -> None:
    assert english_region("North West B") == "North West"
    assert english_region("South and West Yorkshire") == "Yorkshire and The Humber"
    assert english_region("Outside England") == ""


def test_summary_context(stored: SimilarityRun) -> None:
    ctx = queries.school_summary_context(200001)
    assert ctx is not None and ctx["sim"] is not None and len(ctx["top3"]) == 3
    assert queries.school_summary_context(999999)["sim"] is None  # type: ignore[index]
    assert np.isfinite(ctx["sim"].headline)
