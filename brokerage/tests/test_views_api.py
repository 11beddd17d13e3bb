"""Brokerage pages and API: roles enforced, explanations, cold spots, exports, responses."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from brokerage import services
from brokerage.models import Deployment, MatchingRun, Proposal
from brokerage.tests.helpers import PASSWORD, designate, world
from schools.tests.factories import empty_database  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]


def login(client, u):
    assert client.login(username=u.username, password=PASSWORD)


def test_pages_need_sign_in(client):
    for url in ("/brokerage/", "/brokerage/proposals/", "/brokerage/deployments/"):
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    assert client.get("/brokerage/methodology/").status_code == 200


def test_broker_runs_matching_from_the_page_and_sends_proposals(client):
    w = world()
    login(client, w.broker)
    page = client.get("/brokerage/")
    assert page.status_code == 200 and "Run the matching" in page.content.decode()
    r = client.post("/brokerage/", {"region": "West Midlands", "trust_rule": "none", "national": "on"})
    assert r.status_code == 302
    run = MatchingRun.objects.get()
    html = client.get(r["Location"]).content.decode()
    assert "miles away" in html and "Cold spots" in html and "Cove Primary" in html
    assert "No offer in this phase covers this area" in html
    for table in ("results", "coldspots-la", "coldspots-region"):
        csv = client.get(f"/brokerage/runs/{run.pk}/{table}.csv")
        assert csv.status_code == 200 and b"".join(csv.streaming_content)
        xlsx = client.get(f"/brokerage/runs/{run.pk}/{table}.xlsx")
        assert load_workbook(io.BytesIO(xlsx.content)).active.max_row >= 2
    ids = list(run.results.filter(offer__isnull=False).values_list("pk", flat=True))
    r = client.post(f"/brokerage/runs/{run.pk}/send/", {"result": [str(i) for i in ids]})
    assert r.status_code == 302 and Proposal.objects.count() == 2


def test_other_region_broker_and_school_user_refused(client):
    w = world()
    run = services.run_matching(w.broker, "West Midlands")
    login(client, w.broker_nw)
    assert client.get(f"/brokerage/runs/{run.pk}/").status_code == 403
    assert client.get(f"/brokerage/runs/{run.pk}/results.csv").status_code == 403
    assert client.post(f"/brokerage/runs/{run.pk}/send/", {"result": ["1"]}).status_code == 403
    r = client.post("/brokerage/", {"region": "West Midlands", "trust_rule": "none"})
    assert r.status_code == 200 and MatchingRun.objects.count() == 1  # not one of the broker's regions
    login(client, w.needy_user)
    assert client.post("/brokerage/", {"region": "West Midlands", "trust_rule": "none"}).status_code == 403


def test_school_users_accept_on_the_proposals_page(client):
    w = world()
    run = services.run_matching(w.broker, "West Midlands")
    res = run.results.get(need=w.need)
    (p,) = services.send_proposals(w.broker, run, [res.pk])
    login(client, w.needy2_user)
    assert "Ash Primary" not in client.get("/brokerage/proposals/").content.decode()
    assert (
        client.post(
            f"/brokerage/proposals/{p.pk}/respond/", {"side": "need", "decision": "accept"}
        ).status_code
        == 403
    )
    login(client, w.needy_user)
    html = client.get("/brokerage/proposals/").content.decode()
    assert "Ash Primary" in html and "Accept" in html
    client.post(f"/brokerage/proposals/{p.pk}/respond/", {"side": "need", "decision": "accept"})
    supporter = w.helper_user if p.offer_id == w.offer.pk else w.helper2_user
    login(client, supporter)
    client.post(f"/brokerage/proposals/{p.pk}/respond/", {"side": "offer", "decision": "accept"})
    d = Deployment.objects.get()
    assert client.get("/brokerage/proposals.xlsx").status_code == 200
    assert client.get("/brokerage/deployments/").status_code == 200
    assert (
        client.post(f"/brokerage/deployments/{d.pk}/", {"action": "close", "outcome": "x"}).status_code == 403
    )
    login(client, w.broker)
    client.post(
        f"/brokerage/deployments/{d.pk}/",
        {"action": "update", "support_type": "cpd", "days": "4", "start": "2026-01-05", "end": "2026-03-01"},
    )
    d.refresh_from_db()
    assert d.days == 4 and d.support_type == "cpd"
    client.post(f"/brokerage/deployments/{d.pk}/", {"action": "close", "outcome": "Better"})
    d.refresh_from_db()
    assert d.status == "closed"
    assert b"Better" in b"".join(client.get("/brokerage/deployments.csv").streaming_content)


def test_api_workflow_and_refusals(client):
    w = world()
    assert (
        client.post(
            "/api/brokerage/matchings", {"region": "West Midlands"}, content_type="application/json"
        ).status_code
        == 401
    )
    assert client.get("/api/brokerage/proposals").json() == []
    login(client, w.broker_nw)
    r = client.post("/api/brokerage/matchings", {"region": "West Midlands"}, content_type="application/json")
    assert r.status_code == 403
    login(client, w.broker)
    r = client.post(
        "/api/brokerage/matchings",
        {"region": "West Midlands", "trust_rule": "exclude_same"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    run_id = r.json()["id"]
    detail = client.get(f"/api/brokerage/matchings/{run_id}").json()
    matched = [x for x in detail["results"] if x["offer_id"]]
    assert len(matched) == 2 and all("miles away" in x["reason"] for x in matched)
    assert detail["cold_spots_by_region"][0]["over_75"] == 1
    r = client.post(
        f"/api/brokerage/matchings/{run_id}/proposals",
        {"result_ids": [x["result_id"] for x in matched]},
        content_type="application/json",
    )
    assert r.status_code == 200 and len(r.json()) == 2
    pid = next(p.pk for p in Proposal.objects.filter(need=w.need))
    login(client, w.broker_nw)
    assert client.get(f"/api/brokerage/matchings/{run_id}").status_code == 404
    login(client, w.needy2_user)
    r = client.post(
        f"/api/brokerage/proposals/{pid}", {"side": "need", "accept": True}, content_type="application/json"
    )
    assert r.status_code == 403
    login(client, w.needy_user)
    r = client.post(
        f"/api/brokerage/proposals/{pid}", {"side": "need", "accept": True}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["need_response"] == "Accepted"
    r = client.post(
        "/api/brokerage/needs", {"school": w.needy2.urn, "area": "maths"}, content_type="application/json"
    )
    assert r.status_code == 403
    r = client.post(
        "/api/brokerage/needs",
        {"school": w.needy.urn, "area": "maths", "severity": 3},
        content_type="application/json",
    )
    assert r.status_code == 200
    assert client.get("/api/brokerage/needs").json()[0]["school"] == w.needy.urn
    assert client.get(f"/api/brokerage/proposals/{pid}").json()["need_response"] == "Accepted"
    login(client, w.broker)
    assert len(client.get(f"/api/brokerage/matchings/{run_id}/proposals").json()) == 2


def test_school_page_declares_needs_and_offers(client):
    w = world()
    login(client, w.needy_user)
    assert client.get("/brokerage/school/").status_code == 200
    r = client.post(
        "/brokerage/school/",
        {
            "form": "need",
            "need-school": w.needy.urn,
            "need-area": "send",
            "need-severity": "3",
            "need-evidence": "EHCP backlog",
        },
    )
    assert r.status_code == 302
    assert w.needy.brokerage_needs.filter(area="send", severity=3, source="declared").exists()
    # another school's URN is not a choice
    r = client.post(
        "/brokerage/school/",
        {"form": "need", "need-school": w.needy2.urn, "need-area": "send", "need-severity": "3"},
    )
    assert r.status_code == 200 and not w.needy2.brokerage_needs.filter(area="send").exists()
    login(client, w.helper_user)
    r = client.post(
        "/brokerage/school/",
        {
            "form": "offer",
            "offer-school": w.helper.urn,
            "offer-areas": ["maths"],
            "offer-phases": ["primary"],
            "offer-capacity": "3",
        },
    )
    assert r.status_code == 302 and w.helper.brokerage_offers.filter(areas=["maths"], capacity=3).exists()
    designate(w.leader, w.helper2, "lle")
    login(client, w.leader)
    r = client.post(
        "/brokerage/school/",
        {
            "form": "offer",
            "leader_school": str(w.helper2.urn),
            "offer-areas": ["english"],
            "offer-phases": ["primary"],
            "offer-designation": "lle",
        },
    )
    assert r.status_code == 302
    o = w.helper2.brokerage_offers.get(leader=w.leader)
    assert o.designation == "lle" and o.capacity == services.capacity_for("lle")
    assert b"english" in b"".join(client.get("/brokerage/school/offers.csv").streaming_content)
    login(client, w.needy_user)
    assert b"EHCP backlog" in b"".join(client.get("/brokerage/school/needs.csv").streaming_content)
    assert client.get("/brokerage/school/offers.xlsx").status_code == 200
    login(client, w.broker)
    services.run_matching(w.broker, "West Midlands")
    assert "runs.csv" in client.get("/brokerage/").content.decode()
    assert b"West Midlands" in b"".join(client.get("/brokerage/runs.csv").streaming_content)
    login(client, w.outsider)
    assert "You do not act for a school" in client.get("/brokerage/school/").content.decode()


def test_support_from_date_on_the_page_and_the_api(client):
    import datetime as dt

    from django.utils import timezone

    from brokerage.models import Offer

    w = world()
    next_month = timezone.localdate() + dt.timedelta(days=31)
    Offer.objects.filter(pk=w.offer2.pk).update(available_from=next_month)
    login(client, w.broker)
    assert 'name="support_from-day"' in client.get("/brokerage/").content.decode()
    r = client.post(
        "/brokerage/",
        {
            "region": "West Midlands",
            "trust_rule": "none",
            "national": "on",
            "support_from": next_month.isoformat(),
        },
    )
    assert r.status_code == 302
    run = MatchingRun.objects.first()
    assert run.summary["support_from"] == next_month.isoformat()
    assert run.results.filter(offer=w.offer2).exists()
    r = client.post("/api/brokerage/matchings", {"region": "West Midlands"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["summary"]["unavailable_offers"] == 1
    r = client.post(
        "/api/brokerage/matchings",
        {"region": "West Midlands", "support_from": next_month.isoformat()},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    assert r.json()["summary"]["unavailable_offers"] == 0
    assert r.json()["summary"]["served"] == 2
