"""The credible designs in the app: `evaluation run` stores every design with its placebos, balance and counts;
support types and brokered deployments say how many schools they need; the API exposes it all."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.test import Client

from evaluation import queries, services
from evaluation.designs import DesignSettings
from evaluation.engine import Settings
from evaluation.models import DesignEstimate, EvaluationRun
from evaluation.tests import world
from schools.tests.factories import SchoolLinkFactory, empty_database  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]

FAST = Settings(n_boot=200)
SMALL = DesignSettings(min_treated=5, caliper=3.0)


@pytest.fixture
def built() -> dict[str, list[int]]:
    b = world.build()
    # an undated link to an academy: counted, never silently dropped
    SchoolLinkFactory(
        urn=b["treated"][0], link_urn=999001, link_type="Predecessor", established=None, source="t"
    )
    return b


def test_run_stores_every_design_with_placebos_and_counts(built):
    run = services.run_national(FAST, design_settings=SMALL).run
    rows = {(d.group, d.design): d for d in DesignEstimate.objects.filter(run=run, event_type="conversion")}
    md = rows[("phase: primary", "matched_did")]
    assert md.n_treated == world.N_TREATED and md.measure == "KS2_PROGRESS"
    assert md.ci_low <= world.EFFECT <= md.ci_high and md.ci_low > 0.5
    assert set(md.placebos) == {"rtm", "early"}
    assert md.placebos["rtm"]["n_treated"] > 0
    assert {b["covariate"] for b in md.balance} >= {"Result, last year before", "Result, two years before"}
    assert md.counts["events"] == world.N_TREATED and md.counts["matched"] == world.N_TREATED
    es = rows[("phase: primary", "event_study")]
    assert es.ci_low <= world.EFFECT <= es.ci_high
    assert set(es.leads) == {"-2", "0", "1"}  # every available lead and lag; -1 is the reference
    # no school converts after 2019 in this world: the pipeline has no comparison schools
    assert rows[("phase: primary", "pipeline")].status == "not_enough"
    assert rows[("phase: primary", "pipeline")].needed == SMALL.min_treated
    # at most one headline per group, and only a design that passed its placebos
    for g in {k[0] for k in rows}:
        heads = [d for (gg, _), d in rows.items() if gg == g and d.headline]
        assert len(heads) <= 1 and all(d.status == "passed" for d in heads)
    steps = run.counts["steps"]["conversion"]
    assert steps["events"] == world.N_TREATED
    assert (
        steps["links"] == world.N_TREATED + 1 and steps["undated"] == 1 and steps["undated_to_academy"] == 1
    )
    assert steps["with_results"] == world.N_TREATED and steps["matched"] == world.N_TREATED


def test_support_types_and_brokered_deployments_say_how_many_are_needed(built):
    run = services.run_national(FAST, design_settings=SMALL).run
    for et in ("support:jpd", "support:brokered_deployment"):
        ds = list(DesignEstimate.objects.filter(run=run, event_type=et))
        assert ds and all(d.status == "not_enough" and d.needed == SMALL.min_treated for d in ds)
        assert all(d.effect is None and not d.headline for d in ds)
    assert queries.event_label("support:brokered_deployment") == "Support: brokered deployments"


def test_the_command_is_repeatable_and_keeps_one_current_run(built):
    call_command("evaluation", "run", "--n-boot", "100", "--min-treated", "5")
    call_command("evaluation", "run", "--n-boot", "100", "--min-treated", "5")
    assert EvaluationRun.objects.filter(is_current=True).count() == 1
    a, b = EvaluationRun.objects.order_by("id")[:2]
    key = ("event_type", "group", "design", "status", "effect", "ci_low", "ci_high")
    assert list(a.designs.values_list(*key)) == list(b.designs.values_list(*key))  # same seeds, same figures


def test_api_exposes_designs_placebos_balance_and_steps(built):
    services.run_national(FAST, design_settings=SMALL)
    r = Client().get("/api/evaluation/effects", {"event_type": "conversion"})
    assert r.status_code == 200
    body = r.json()
    assert body["steps"]["events"] == world.N_TREATED and body["steps"]["undated"] == 1
    d = next(x for x in body["designs"] if x["group"] == "phase: primary" and x["design"] == "matched_did")
    assert d["design_label"] == "Matched difference-in-differences"
    assert d["placebos"]["rtm"]["label"].startswith("Pseudo-events")
    assert d["balance"] and "smd_after" in d["balance"][0]
    assert d["status"] in {"passed", "failed", "untested"}
    r = Client().get("/api/evaluation/effects", {"event_type": "support:brokered_deployment"})
    assert all(x["status"] == "not_enough" and x["needed"] == 5 for x in r.json()["designs"])
    assert dt.date.today()  # the run is dated by the database, not asserted here
