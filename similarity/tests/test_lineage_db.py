"""Results lineage and partner quality end to end on factory data: recompute, reach, page and API."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from schools.models import School
from similarity import services
from similarity.method import INTAKE_2025_METHOD
from similarity.models import LineageLink, SchoolSimilarity
from similarity.tests.population import NEW, OLD, build_lineage_world, method_small

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> dict[str, int]:
    return build_lineage_world()


def _nearest_better(sim: SchoolSimilarity) -> int:
    assert sim.headline is not None
    better = [(m, u) for u, _, m, h in sim.members if h is not None and h > sim.headline]
    return min(better)[1]


def test_open_successor_shows_its_predecessors_figures(world: dict[str, int], client: Client) -> None:
    run = services.recompute(method_small()).run
    link = LineageLink.objects.get(run=run, school_id=NEW)
    assert link.source_id == OLD and link.path == [NEW, OLD] and link.link_types == ["Predecessor"]
    html = client.get(f"/schools/{NEW}/similar/").content.decode()
    assert f"URN {OLD}" in html and "figures-source" in html and "2018/19" in html
    assert f'href="/schools/{OLD}/"' in html
    body = client.get(f"/api/schools/{NEW}/family").json()
    assert body["figures_from"]["urn"] == OLD and body["figures_from"]["path"] == [NEW, OLD]
    assert len(body["family"]) == 8 and all("ofsted_rating" in m for m in body["family"])


def test_partner_rated_requires_improvement_is_passed_over(world: dict[str, int], client: Client) -> None:
    run = services.recompute(method_small()).run
    sim = SchoolSimilarity.objects.get(run=run, school_id=OLD)
    nearest = _nearest_better(sim)
    assert sim.partner_id == nearest  # nobody is rated yet
    School.objects.filter(urn=nearest).update(
        ofsted_rating="Requires Improvement", ofsted_date=dt.date(2023, 3, 1)
    )
    run = services.recompute(method_small()).run
    sim = SchoolSimilarity.objects.get(run=run, school_id=OLD)
    assert sim.partner_id != nearest
    assert sim.partners["default"]["passed_over"]["urn"] == nearest
    assert sim.partners["any_rating"]["urn"] == nearest
    html = client.get(f"/schools/{OLD}/similar/").content.decode()
    assert "passed over: rated Requires Improvement in March 2023" in html
    partner = client.get(f"/api/schools/{OLD}/partner").json()
    assert partner["passed_over"]["school"]["urn"] == nearest
    assert partner["partner"]["school"]["ofsted"] in ("no Ofsted judgement on record",) or partner["partner"][
        "school"
    ]["ofsted"].startswith("rated")
    # configurable per run: any judgement
    anyrun = services.recompute(method_small(partner_exclude_ratings=())).run
    anyrun.refresh_from_db()
    assert anyrun.method["partner_exclude_ratings"] == []
    assert SchoolSimilarity.objects.get(run=anyrun, school_id=OLD).partner_id == nearest


def test_intake_run_gives_every_open_school_a_family_and_reach_counts_reasons(
    world: dict[str, int], client: Client
) -> None:
    services.recompute(method_small())
    intake = services.recompute(
        INTAKE_2025_METHOD.with_(family_size=8, min_family_values=3), make_current=False
    ).run
    infant = SchoolSimilarity.objects.get(run=intake, school_id=world["infant"])
    assert infant.headline is None and infant.partner_id is None and len(infant.members) == 8
    # the academy's 2024/25 row is its own family with no Attainment 8 2024/25 stored here
    assert SchoolSimilarity.objects.filter(run=intake, school_id=NEW).exists()
    html = client.get(f"/schools/{world['infant']}/similar/").content.decode()
    assert "infant school" in html and "not in the current run" in html
    out = StringIO()
    call_command("similarity", "reach", "--json", stdout=out)
    reach = json.loads(out.getvalue())
    prim = reach["phases"]["primary"]
    assert prim["open_schools"] == prim["with_family"] == 31  # 30 population schools and the infant school
    assert prim["no_partner"]["infant school: no key stage 2 results (family only)"] == 1
    sec = reach["phases"]["secondary"]
    assert sec["with_family"] == sec["open_schools"]
    assert reach["family_percent"] == 100.0
