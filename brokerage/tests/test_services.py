"""Brokerage workflow: each step allowed for the right role and refused for others; audit; capacity."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from brokerage import queries, services
from brokerage.models import Deployment, MatchResult, Need, Offer
from brokerage.services import deployments
from brokerage.tests.factories import ProposalFactory
from brokerage.tests.helpers import designate, world
from schoolpartners.regions import in_region
from schools.tests.factories import ResultFactory, SchoolFactory, empty_database  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]


def run_and_propose(w):
    run = services.run_matching(w.broker, "West Midlands")
    results = {r.need_id: r for r in run.results.all()}
    return run, results


def test_broker_runs_matching_with_explanations_and_unmatched_reasons():
    w = world()
    run, results = run_and_propose(w)
    assert run.status == "done" and run.summary["needs"] == 3 and run.summary["served"] == 2
    # the high-severity need gets the nearest offer
    assert results[w.need2.pk].offer_id in (w.offer.pk, w.offer2.pk)
    r = results[w.need.pk]
    assert r.offer_id is not None and "miles away" in r.reason and "intake" in r.reason
    far = results[w.far_need.pk]
    assert far.offer_id is None and far.unmatched_reason == "no_area"
    assert AuditEvent.objects.filter(action="brokerage.matching.done", object_id=str(run.pk)).exists()
    cold = queries.cold_spots(run)
    assert [p["urn"] for p in cold["points"]] == [w.far_needy.urn]
    assert cold["by_region"][0]["over_75"] == 1


def test_broker_cannot_run_matching_for_another_region_and_school_user_cannot_at_all():
    w = world()
    with pytest.raises(PermissionDenied):
        services.run_matching(w.broker_nw, "West Midlands")
    with pytest.raises(PermissionDenied):
        services.run_matching(w.needy_user, "West Midlands")
    run, _ = run_and_propose(w)
    with pytest.raises(PermissionDenied):
        services.send_proposals(w.broker_nw, run, [r.pk for r in run.results.all()])


def test_what_if_exclude_and_extra_capacity():
    w = world()
    base = services.run_matching(w.broker, "West Midlands")
    more = services.run_matching(
        w.broker, "West Midlands", {"exclude_offers": [w.offer2.pk], "extra_capacity": {str(w.offer.pk): 1}}
    )
    assert more.what_if and not base.what_if
    used = set(MatchResult.objects.filter(run=more, offer__isnull=False).values_list("offer_id", flat=True))
    assert used == {w.offer.pk} and more.summary["served"] == 2


def test_full_workflow_accept_both_sides_then_close():
    w = world()
    run, results = run_and_propose(w)
    (p,) = services.send_proposals(w.broker, run, [results[w.need.pk].pk])
    assert p.status == "sent"
    # a school user cannot answer for another school, nor for the other side
    with pytest.raises(PermissionDenied):
        services.respond(w.needy2_user, p.pk, "need", True)
    with pytest.raises(PermissionDenied):
        services.respond(w.needy_user, p.pk, "offer", True)
    with pytest.raises(PermissionDenied):
        services.respond(w.outsider, p.pk, "need", True)
    services.respond(w.needy_user, p.pk, "need", True)
    assert not Deployment.objects.exists()
    supporter = w.helper_user if p.offer_id == w.offer.pk else w.helper2_user
    p = services.respond(supporter, p.pk, "offer", True)
    assert p.status == "accepted"
    d = Deployment.objects.get(proposal=p)
    assert d.status == "active"
    with pytest.raises(ValidationError):
        services.respond(w.needy_user, p.pk, "need", False)  # already decided
    with pytest.raises(PermissionDenied):
        services.close_deployment(w.needy_user, d.pk, "done")
    with pytest.raises(PermissionDenied):
        services.update_deployment(w.broker_nw, d.pk, days=3)
    services.update_deployment(w.broker, d.pk, support_type="senior_leadership", days=6)
    with pytest.raises(ValidationError):
        services.close_deployment(w.broker, d.pk, "  ")
    d = services.close_deployment(w.broker, d.pk, "Leadership review completed; next inspection Good.")
    assert d.status == "closed" and d.end is not None
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "brokerage.proposal.send",
        "brokerage.proposal.accept",
        "brokerage.deployment.activate",
        "brokerage.deployment.update",
        "brokerage.deployment.close",
    } <= actions


def test_decline_ends_the_proposal():
    w = world()
    run, results = run_and_propose(w)
    (p,) = services.send_proposals(w.broker, run, [results[w.need.pk].pk])
    p = services.respond(w.needy_user, p.pk, "need", False)
    assert p.status == "declined" and not Deployment.objects.exists()


def test_system_leader_answers_only_for_own_offer():
    w = world()
    designate(w.leader, w.helper, "nle")
    offer = services.declare_offer(
        w.leader, w.helper.urn, ["maths"], ["primary"], designation="nle", as_system_leader=True
    )
    assert offer.capacity == services.capacity_for("nle") == 4 and offer.leader == w.leader
    with pytest.raises(PermissionDenied):
        services.declare_offer(w.outsider, w.helper.urn, ["maths"], ["primary"], as_system_leader=True)
    run = services.run_matching(w.broker, "West Midlands")
    far = run.results.get(need=w.far_need)
    assert far.offer_id == offer.pk  # national rung: the only maths offer, > 75 miles away
    assert "national" in far.reason
    (p,) = services.send_proposals(w.broker, run, [far.pk])
    with pytest.raises(PermissionDenied):
        services.respond(w.helper_user, p.pk, "offer", True)  # the school's user is not the leader
    services.respond(w.leader, p.pk, "offer", True)
    assert [r["id"] for r in queries.proposal_rows(w.leader)] == [p.pk]


def test_capacity_exhausted_refuses_second_acceptance():
    w = world()
    p1 = ProposalFactory(need=w.need, offer=w.offer)
    p2 = ProposalFactory(need=w.need2, offer=w.offer)
    services.respond(w.helper_user, p1.pk, "offer", True)
    services.respond(w.helper_user, p2.pk, "offer", True)
    services.respond(w.needy_user, p1.pk, "need", True)
    with pytest.raises(services.CapacityExhausted):
        services.respond(w.needy2_user, p2.pk, "need", True)
    assert Deployment.objects.filter(offer=w.offer, status="active").count() == 1
    # a new matching sees the offer as full
    run = services.run_matching(w.broker, "West Midlands")
    assert not run.results.filter(offer=w.offer).exists()


def test_declare_need_only_for_own_school():
    w = world()
    with pytest.raises(PermissionDenied):
        services.declare_need(w.needy_user, w.needy2.urn, "maths", 2)
    n = services.declare_need(w.needy_user, w.needy.urn, "send", 3, "EHCP backlog")
    assert n.source == "declared" and n.severity == 3
    with pytest.raises(ValidationError):
        services.declare_need(w.needy_user, w.needy.urn, "astrology", 1)


def test_derive_is_idempotent_and_follows_the_rules():
    ri = SchoolFactory(urn=400001, ofsted_rating="Requires Improvement")
    bad = SchoolFactory(urn=400002, ofsted_rating="Good")
    for year in (2017, 2018, 2019):
        ResultFactory(school=bad, year=year, measure="MATPROG", value=-3.1, source="t")
        ResultFactory(school=bad, year=year, measure="READPROG", value=0.5, source="t")
        ResultFactory(school=bad, year=year, measure="WRITPROG", value=0.2, source="t")
    SchoolFactory(urn=400003, ofsted_rating="Outstanding")
    SchoolFactory(urn=400004, ofsted_rating="Good")  # no strength data: no default offer
    first = services.derive_from_register()
    assert first["needs_created"] == 2 and first["offers_created"] == 1
    assert set(Need.objects.values_list("school_id", "area")) == {(ri.urn, "leadership"), (bad.urn, "maths")}
    offer = Offer.objects.get()
    assert offer.school_id == 400003 and offer.areas == ["leadership"] and offer.capacity == 2
    again = services.derive_from_register()
    assert not any(v for v in again.values())
    ri.ofsted_rating = "Good"
    ri.save()
    third = services.derive_from_register()
    assert third["needs_closed"] == 1


def test_support_ledger_hook_called_when_present(monkeypatch):
    w = world()
    seen = []
    monkeypatch.setattr(deployments, "_support_hook", lambda: lambda payload, actor: seen.append(payload))
    p = ProposalFactory(need=w.need, offer=w.offer)
    services.respond(w.helper_user, p.pk, "offer", True)
    services.respond(w.needy_user, p.pk, "need", True)
    d = Deployment.objects.get()
    assert [x["id"] for x in seen] == [d.pk]
    assert seen[0]["provider_urns"] == [w.helper.urn] and seen[0]["recipient_urn"] == w.needy.urn


def test_support_ledger_receives_the_deployment():
    from support.models import SupportActivity

    w = world()
    p = ProposalFactory(need=w.need, offer=w.offer)
    services.respond(w.helper_user, p.pk, "offer", True)
    services.respond(w.needy_user, p.pk, "need", True)
    d = Deployment.objects.get()
    services.close_deployment(w.broker, d.pk, "Improved")
    act = SupportActivity.objects.get()
    assert act.external_ref == f"brokerage:{d.pk}"


def test_derive_command_json():
    import json
    from io import StringIO

    from django.core.management import call_command

    SchoolFactory(urn=410001, ofsted_rating="Inadequate")
    out = StringIO()
    call_command("brokerage", "derive", "--json", stdout=out)
    counts = json.loads(out.getvalue())
    assert counts["needs_created"] == 1 and counts["open_needs"] == 1
    out = StringIO()
    call_command("brokerage", "derive", "--json", stdout=out)
    assert json.loads(out.getvalue())["needs_created"] == 0


def test_matching_uses_similarity_features_and_strengths():
    from accounts.models import Role
    from brokerage.tests.helpers import user
    from schools.models import School
    from similarity import services as sim_services
    from similarity.tests.population import build_population, method_small

    pop = build_population()
    sim_services.recompute(method_small())
    prim = pop["primary"]
    School.objects.filter(urn__in=prim[:6]).update(ofsted_rating="Requires Improvement")
    School.objects.filter(urn__in=prim[6:]).update(ofsted_rating="Outstanding")
    counts = services.derive_from_register()
    assert counts["needs_created"] >= 6 and counts["offers_created"] >= 1
    offers = Offer.objects.filter(source="default")
    assert all("leadership" in o.areas for o in offers)  # Outstanding
    assert any(set(o.areas) - {"leadership"} for o in offers)  # strong relative to the family somewhere
    broker = user("broker-wma", Role.BROKER, region="West Midlands A")
    run = services.run_matching(broker, "West Midlands A")
    matched = run.results.exclude(offer=None)
    assert matched.exists()
    assert all("intake distance" in r.reason for r in matched)
    assert all(len(r.alternatives) <= 3 for r in matched)


def test_region_covers_its_sub_regions():
    from accounts.models import Role
    from brokerage.tests.helpers import user

    sub = SchoolFactory(urn=420001, region_name="West Midlands C", ofsted_rating="Inadequate")
    SchoolFactory(urn=420002, region_name="North West A", ofsted_rating="Inadequate")
    services.derive_from_register()
    broker = user("broker-wm", Role.BROKER, region="West Midlands")
    run = services.run_matching(broker, "West Midlands")
    assert list(run.results.values_list("need__school_id", flat=True)) == [sub.urn]
    sub_broker = user("broker-wmc", Role.BROKER, region="West Midlands C")
    assert services.run_matching(sub_broker, "West Midlands C").results.count() == 1
    assert in_region("West Midlands C", "West Midlands") and not in_region("North West A", "West Midlands")


def _offers_used(run):
    return set(MatchResult.objects.filter(run=run, offer__isnull=False).values_list("offer_id", flat=True))


def test_offer_starting_next_month_takes_part_only_in_a_matching_dated_next_month():
    w = world()
    today = timezone.localdate()
    next_month = today + dt.timedelta(days=31)
    Offer.objects.filter(pk=w.offer2.pk).update(available_from=next_month)
    now = services.run_matching(w.broker, "West Midlands")
    assert w.offer2.pk not in _offers_used(now)
    assert now.summary["support_from"] == today.isoformat() and now.summary["unavailable_offers"] == 1
    later = services.run_matching(w.broker, "West Midlands", {"support_from": next_month.isoformat()})
    assert w.offer2.pk in _offers_used(later)
    assert later.summary["unavailable_offers"] == 0 and later.params["support_from"] == next_month.isoformat()
    # the date is inclusive on both sides
    on_day = services.run_matching(w.broker, "West Midlands", {"support_from": next_month})
    assert w.offer2.pk in _offers_used(on_day)


def test_expired_offer_is_never_matched():
    w = world()
    today = timezone.localdate()
    Offer.objects.filter(pk=w.offer2.pk).update(
        available_from=today - dt.timedelta(days=60), available_to=today - dt.timedelta(days=1)
    )
    for opts in (
        {},
        {"support_from": today.isoformat()},
        {"support_from": (today + dt.timedelta(days=31)).isoformat()},
    ):
        run = services.run_matching(w.broker, "West Midlands", opts)
        assert w.offer2.pk not in _offers_used(run) and run.summary["unavailable_offers"] == 1


def test_support_from_must_be_a_date():
    w = world()
    with pytest.raises(ValidationError):
        services.run_matching(w.broker, "West Midlands", {"support_from": "next month"})


def test_offers_of_one_query_for_page_export_and_api():
    """The offers of a user: their schools' own offers (not system-leader offers made from them) and their
    system-leader offers; nothing for anonymous users. The needs of a user: their schools' needs."""
    from django.contrib.auth.models import AnonymousUser

    w = world()
    leader_offer = Offer.objects.create(
        school=w.helper, leader=w.leader, areas=["maths"], phases=["primary"], capacity=1
    )
    assert set(queries.offers_of(w.helper_user)) == {w.offer}
    assert set(queries.offers_of(w.leader)) == {leader_offer}
    assert list(queries.offers_of(w.outsider)) == [] and list(queries.offers_of(AnonymousUser())) == []
    assert list(queries.needs_of(w.needy_user)) == [w.need]
    assert list(queries.needs_of(AnonymousUser())) == []
