"""Issue 10: numbers the database refuses (capacity -1 or 40000, severity -1) and numbers the forms refuse
(severity 99, capacity 30000, max_miles -5) are refused alike by the forms and the API, with the bounds of
brokerage/models.py: 422 on the API, a form error on the page, never a database error."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from brokerage.models import (
    CAPACITY_MAX,
    CAPACITY_MIN,
    MAX_MILES_MAX,
    MAX_MILES_MIN,
    SEVERITY_MAX,
    SEVERITY_MIN,
    Need,
    Offer,
)
from brokerage.tests.helpers import world
from schools.tests.factories import empty_database  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]


def login(client: Any, u: Any) -> None:
    client.force_login(u)


def _need(client: Any, w: Any, **extra: Any) -> Any:
    body = {"school": w.needy.urn, "area": "maths", **extra}
    return client.post("/api/brokerage/needs", body, content_type="application/json")


def _offer(client: Any, w: Any, **extra: Any) -> Any:
    body = {"school": w.helper.urn, "areas": ["maths"], "phases": ["primary"], **extra}
    return client.post("/api/brokerage/offers", body, content_type="application/json")


def _offer_form(client: Any, w: Any, **extra: Any) -> Any:
    data = {
        "form": "offer",
        "offer-school": w.helper.urn,
        "offer-areas": ["maths"],
        "offer-phases": ["primary"],
    }
    return client.post("/brokerage/school/", {**data, **{f"offer-{k}": v for k, v in extra.items()}})


@pytest.mark.parametrize("severity", [-1, 4, 99, 2**63, 10**20])
def test_api_refuses_a_severity_out_of_range(client, severity):
    w = world()
    login(client, w.needy_user)
    before = Need.objects.count()
    r = _need(client, w, severity=severity)
    assert r.status_code == 422, r.content
    assert r["Content-Type"] == "application/problem+json"
    assert Need.objects.count() == before


def test_severity_bounds_are_the_choices(client):
    w = world()
    login(client, w.needy_user)
    assert _need(client, w, severity=SEVERITY_MAX).status_code == 200
    assert _need(client, w, area="send", severity=SEVERITY_MIN).status_code == 200
    r = client.post(
        "/brokerage/school/",
        {"form": "need", "need-school": w.needy.urn, "need-area": "curriculum", "need-severity": "-1"},
    )
    assert r.status_code == 200 and not w.needy.brokerage_needs.filter(area="curriculum").exists()


@pytest.mark.parametrize(
    "field,value",
    [
        ("capacity", -1),
        ("capacity", CAPACITY_MAX + 1),
        ("capacity", 30000),
        ("capacity", 40000),
        ("max_miles", -5),
        ("max_miles", MAX_MILES_MIN - 0.5),
        ("max_miles", MAX_MILES_MAX + 1),
    ],
)
def test_api_and_form_refuse_the_same_offer_numbers(client, field, value):
    w = world()
    login(client, w.helper_user)
    before = Offer.objects.count()
    r = _offer(client, w, **{field: value})
    assert r.status_code == 422, r.content
    assert r.json()["errors"][0]["loc"][-1] == field
    r = _offer_form(client, w, **{field: value})
    assert r.status_code == 200  # the form again, with its error
    assert "govuk-error-message" in r.content.decode()
    assert Offer.objects.count() == before


def test_api_and_form_accept_the_bounds(client):
    w = world()
    login(client, w.helper_user)
    assert _offer(client, w, capacity=CAPACITY_MIN, max_miles=MAX_MILES_MAX).status_code == 200
    assert _offer_form(client, w, capacity=CAPACITY_MAX, max_miles=MAX_MILES_MIN).status_code == 302
    assert {o.capacity for o in w.helper.brokerage_offers.all()} >= {CAPACITY_MIN, CAPACITY_MAX}


def test_need_evidence_with_nul_or_control_characters_is_refused(client):
    w = world()
    login(client, w.needy_user)
    for evidence in ("ab\x00cd", "bell\x07"):
        r = _need(client, w, area="send", evidence=evidence)
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "evidence"]
    data = {"form": "need", "need-school": w.needy.urn, "need-area": "send", "need-evidence": "ab\x00cd"}
    r = client.post("/brokerage/school/", urlencode(data), content_type="application/x-www-form-urlencoded")
    assert r.status_code == 400  # NUL in a form field: refused before any view, with a GOV.UK page
    assert "There is a problem with your request" in r.content.decode()
    r = client.post("/brokerage/school/", data)  # multipart: the form's own validator refuses it
    assert r.status_code == 200 and "control characters" in r.content.decode()
    assert not w.needy.brokerage_needs.filter(area="send").exists()


def test_matching_region_with_nul_is_refused(client):
    w = world()
    login(client, w.broker)
    r = client.post("/api/brokerage/matchings", {"region": "North\x00"}, content_type="application/json")
    assert r.status_code == 422
    assert "control characters" in r.json()["detail"]
