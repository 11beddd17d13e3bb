"""The evaluation in the app: inputs from the database (predecessor results joined to the academy URN, stored
families), the stored run, the command, pages, exports, the school page chart and the API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from audit.models import AuditEvent
from evaluation import queries, services
from evaluation.engine import Settings
from evaluation.models import EffectEstimate, EvaluationRun, SchoolEvent
from evaluation.tests import world
from schools.tests.factories import empty_database  # noqa: F401 - fixture
from similarity.models import SimilarityRun

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]

FAST = Settings(n_boot=300)


@pytest.fixture
def built() -> dict[str, list[int]]:
    return world.build()


def test_run_recovers_planted_effect_and_stores_it(built):
    rep = services.run_national(FAST)
    run = rep.run
    assert run.is_current and run.families_source.startswith("similarity run")
    est = EffectEstimate.objects.get(run=run, event_type="conversion", group="all", measure="KS2_PROGRESS")
    assert est.n_treated == world.N_TREATED
    assert est.ci_low <= world.EFFECT <= est.ci_high
    assert est.ci_low > 1.0
    assert est.n_comparison == 20  # the controls in the families; treated family members never count
    assert set(est.leads) == {"-3", "-2", "0", "1", "2"}
    assert est.leads["-2"]["n"] == world.N_TREATED  # 2015/16, two years before
    assert est.leads["-3"]["n"] == 0  # would need 2014/15
    assert est.leads["-2"]["ci_low"] <= 0 <= est.leads["-2"]["ci_high"]  # no pre-trend planted
    assert EffectEstimate.objects.filter(run=run, group="type: converter · primary").exists()
    assert AuditEvent.objects.filter(action="evaluation.run").count() == 1


def test_predecessor_results_join_the_academy(built):
    services.run_national(FAST)
    u = built["treated"][0]
    ev = SchoolEvent.objects.get(urn=u)
    assert ev.predecessor == built["predecessors"][0]
    assert (ev.last_pre, ev.first_post) == (2017, 2018)
    years = {s["year"]: s for s in ev.series}
    assert all(years[y]["value"] is not None for y in world.YEARS)  # 2016-17 from the predecessor URN
    assert years[2016]["n_comparison"] == 20  # treated family members are excluded


def test_comparison_never_includes_treated(built):
    inp = services.load_inputs()
    prep = services.prepare(inp)
    assert set(built["treated"]) <= prep.excluded
    assert not set(built["controls"]) & prep.excluded


def test_new_run_replaces_current_and_keeps_three(built):
    for _ in range(4):
        services.run_national(FAST)
    assert EvaluationRun.objects.count() == 3
    assert EvaluationRun.objects.filter(is_current=True).count() == 1


def test_command_json(built, capsys):
    call_command("evaluation", "run", "--n-boot", "100", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["estimates"] > 0
    assert any(h["group"] == "all" and h["measure"] == "KS2_PROGRESS" for h in out["headline"])
    assert out["counts"]["conversion"]["estimable_headline"] == world.N_TREATED


def test_families_computed_without_a_stored_run(built):
    SimilarityRun.objects.all().delete()
    inp = services.load_inputs()
    assert inp.families_source.startswith("computed")  # no census in this world: no families, no estimate
    assert services.evaluate_national(inp, FAST).estimates == []


@pytest.mark.django_db(transaction=True)
def test_new_run_reaches_cached_school_pages(built, client: Client):
    u = built["treated"][0]
    assert 'id="before-after"' not in client.get(f"/schools/{u}/").content.decode()
    services.run_national(FAST)
    assert 'id="before-after"' in client.get(f"/schools/{u}/").content.decode()


def test_pages_exports_and_school_chart(built, client: Client):
    services.run_national(FAST)
    SimilarityRun.objects.all().delete()  # the school page's similarity summary is not under test here
    r = client.get("/evaluation/")
    assert r.status_code == 200 and b"Converting to an academy" in r.content
    r = client.get("/evaluation/events/conversion/")
    html = r.content.decode()
    assert r.status_code == 200
    assert 'id="naive-ks2_progress"' in html and 'id="effects-table"' in html
    assert "Not enough schools yet" in html  # 12 treated schools, 20 needed by default
    resp_d: Any = client.get("/evaluation/events/conversion/designs.csv")
    assert "Matched difference-in-differences" in b"".join(resp_d.streaming_content).decode()
    assert client.get("/evaluation/events/conversion/designs.xlsx").status_code == 200
    assert "regression to the mean" in html
    assert client.get("/evaluation/events/unknown/").status_code == 404
    assert client.get("/evaluation/support/jpd/").status_code == 200
    assert client.get("/evaluation/support/nope/").status_code == 404
    resp: Any = client.get("/evaluation/events/conversion.csv")
    csv = b"".join(resp.streaming_content).decode()
    assert "KS2_PROGRESS" in csv
    assert client.get("/evaluation/events/conversion.xlsx").status_code == 200
    u = built["treated"][0]
    page = client.get(f"/schools/{u}/").content.decode()
    assert 'id="before-after"' in page and 'id="before-after-0"' in page
    control = client.get(f"/schools/{built['controls'][0]}/").content.decode()
    assert 'id="before-after"' not in control


def test_api(built, client: Client):
    assert client.get("/api/evaluation/runs/current").status_code == 404
    services.run_national(FAST)
    r = client.get("/api/evaluation/effects", {"event_type": "conversion", "measure": "KS2_PROGRESS"}).json()
    row = next(e for e in r["effects"] if e["group"] == "all")
    assert row["ci_low"] <= world.EFFECT <= row["ci_high"]
    assert row["leads"]["0"]["n"] == world.N_TREATED
    r = client.get(f"/api/schools/{built['treated'][0]}/before-after").json()
    assert r["events"][0]["event_type"] == "conversion" and len(r["events"][0]["series"]) == 4
    assert client.get("/api/evaluation/runs/current").json()["is_current"] is True
    ops = client.get("/api/openapi.json").json()["paths"]
    for path in (
        "/api/evaluation/effects",
        "/api/schools/{urn}/before-after",
        "/api/evaluation/runs/current",
    ):
        assert ops[path]["get"]["description"].startswith("Public:")


def test_support_activities_are_events(built):
    from schools.models import School
    from support.tests.factories import SupportActivityFactory

    t = built["controls"][0]
    SupportActivityFactory(
        recipient=School.objects.get(urn=t),
        support_type="jpd",
        start_date="2017-09-01",
        provider_key=f"{built['controls'][1]}|",
        providers=[built["controls"][1]],
    )
    prep = services.prepare(services.load_inputs())
    assert t in prep.excluded
    ev = prep.events[prep.events["event_type"] == "support:jpd"]
    assert ev["unit"].tolist() == [t]


def test_dated_trust_joins_are_events_unless_part_of_a_conversion(built):
    import datetime as dt

    from schools.tests.factories import MembershipFactory, PartnershipFactory

    trust = PartnershipFactory()
    MembershipFactory(partnership=trust, school_id=built["controls"][2], joined=dt.date(2017, 9, 1))
    MembershipFactory(
        partnership=trust, school_id=built["treated"][0], joined=dt.date(2017, 9, 1)
    )  # = conversion
    MembershipFactory(partnership=trust, school_id=built["controls"][3], joined=None)  # undated: not an event
    prep = services.prepare(services.load_inputs())
    joins = prep.events[prep.events["event_type"] == "trust_join"]
    assert joins["unit"].tolist() == [built["controls"][2]]
    assert built["controls"][2] in prep.excluded and built["controls"][3] not in prep.excluded
    assert queries.event_label("trust_join").startswith("Joining a trust")
