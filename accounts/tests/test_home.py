"""The signed-in home page: each role sees what awaits it (requests to decide, proposals to answer, deployments
to update, unread notifications) with links to its own school, trust and region pages; sign-in lands there."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from schoolpartners.tests import authz_world
from schools.tests.factories import empty_database  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]


def _home(w: authz_world.World, role: str) -> str:
    c = Client()
    c.force_login(w.users[role])
    r = c.get("/home/")
    assert r.status_code == 200, role
    return r.content.decode()


def _waiting(page: str, task: str) -> str:
    """The status shown beside one task: "N waiting" or "None waiting"."""
    m = re.search(re.escape(task) + r".*?govuk-task-list__status[^>]*>(.*?)</div>", page, re.S)
    assert m, task
    return re.sub(r"<[^>]+>", "", m.group(1)).strip()


def test_each_role_sees_what_awaits_it():
    w = authz_world.build()
    trust = _home(w, "b_trust")
    assert _waiting(trust, "Requests waiting for your trust&#x27;s consent") == "1 waiting"  # B4's leave
    assert f'href="/partnerships/requests/{w.ids["leave"]}/"' in trust
    assert f'href="/trusts/{w.ids["trust_b"]}/">Trust B</a>' in trust

    approver = _home(w, "b_approver")
    assert _waiting(approver, "Requests to decide as the regional director&#x27;s office") == "1 waiting"
    assert f'href="/partnerships/requests/{w.ids["join"]}/"' in approver
    assert "Audit log: who changed what" in approver

    b2 = _home(w, "b_school2")
    assert _waiting(b2, "Proposals waiting for your school&#x27;s consent") == "1 waiting"  # B New Trust
    assert _waiting(b2, "Proposals to answer") == "1 waiting"  # the pending brokerage proposal's offer side
    assert 'href="/schools/600002/">B2 Primary</a>' in b2

    broker = _home(w, "b_broker")
    assert _waiting(broker, "Active deployments in your region to update or close") == "1 waiting"
    assert "Latest matching for North West" in broker

    b3 = _home(w, "b_school3")
    assert _waiting(b3, "Unread notifications") == "1 waiting"  # "For B3 only"
    assert "1 thing needs your attention" in b3

    # scope A sees none of B's work
    a_trust = _home(w, "trust")
    assert _waiting(a_trust, "Requests waiting for your trust&#x27;s consent") == "None waiting"
    a_approver = _home(w, "approver")
    assert _waiting(a_approver, "Requests to decide as the regional director&#x27;s office") == "None waiting"
    assert "Nothing needs your attention now." in _home(w, "leader") or "Proposals to answer" in _home(
        w, "leader"
    )


def test_sign_in_lands_on_the_home_page_and_anonymous_is_sent_to_sign_in(client, django_user_model):
    assert client.get("/home/")["Location"].startswith("/accounts/login/")
    django_user_model.objects.create_user("ann", password="pw-ann-12345-long")
    r = client.post("/accounts/login/", {"username": "ann", "password": "pw-ann-12345-long"})
    assert r.status_code == 302 and r["Location"] == "/home/"
    page = client.get("/home/").content.decode()
    assert "Your account has no role" in page and "Notification emails: how often" in page
