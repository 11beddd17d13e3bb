"""What the OpenAPI document declares for error answers is what is returned: unknown URLs under /api/ answer a
JSON problem (404, never Django's HTML page), and the 422 bodies of the support import, activities and
pledges validate against the schema each operation declares for 422 (the media type included)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jsonschema_rs
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import Role
from accounts.tests.factories import RoleAssignmentFactory, UserFactory
from schoolpartners.apikit import PROBLEM_CONTENT_TYPE
from schools.tests.factories import SchoolFactory

pytestmark = pytest.mark.django_db


def _problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.content
    assert r["Content-Type"] == PROBLEM_CONTENT_TYPE
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return body


@pytest.mark.parametrize(
    "url",
    [
        "/api",
        "/api/",
        "/api/nothing-here",
        "/api/schools/100001/nothing/deeper",
        "/api/partnerships/trusts/not-a-number",  # the {int:} converter does not match
        "/api/partnerships/requests/%F4%8A%86%9E",
    ],
)
def test_unknown_api_urls_answer_a_json_problem(url: str) -> None:
    client = Client(enforce_csrf_checks=True)
    body = _problem(client.get(url), 404)
    assert body["title"] == "Not found"
    # a write to an unknown URL, even without a CSRF token, is the same JSON 404 (not Django's HTML 403)
    _problem(client.post(url, {}, content_type="application/json"), 404)


def test_pages_outside_the_api_still_answer_html(client: Client) -> None:
    r = client.get("/no-such-page/")
    assert r.status_code == 404 and r["Content-Type"].startswith("text/html")


def test_trust_ids_beyond_a_database_integer_are_refused(client: Client) -> None:
    """Out of the id range (1..2^63-1): a 422 problem naming the parameter, never a 500 (SQLite overflows)."""
    for url in ("/api/partnerships/trusts/9223372036854775808", "/api/partnerships/trusts/0/members"):
        body = _problem(client.get(url), 422)
        assert "trust_id" in str(body.get("errors"))


# ----------------------------------------------------------------------------------- declared 422 == returned
def _declared(doc: dict[str, Any], path: str, method: str, status: int) -> Any:
    """A validator for the body `path`/`method` declares for `status`, under the problem media type."""
    content = doc["paths"][path][method]["responses"][str(status)]["content"]
    assert list(content) == [PROBLEM_CONTENT_TYPE], content
    schema = {**content[PROBLEM_CONTENT_TYPE]["schema"], "components": doc["components"]}
    return jsonschema_rs.validator_for(schema)


def _conforms(validator: Any, r: Any) -> dict[str, Any]:
    body = _problem(r, 422)
    errors = [e.message for e in validator.iter_errors(body)]
    assert errors == [], (errors, body)
    return body


@pytest.fixture
def staff_client(client: Client) -> Client:
    staff: Any = UserFactory(username="staff", is_staff=True)
    client.force_login(staff)
    return client


def test_import_422_bodies_are_the_declared_schema(staff_client: Client) -> None:
    doc = staff_client.get("/api/openapi.json").json()
    validator = _declared(doc, "/api/support/import", "post", 422)
    SchoolFactory(urn=100001)
    SchoolFactory(urn=100002)

    def upload(name: str, text: str) -> Any:
        file = SimpleUploadedFile(name, text.encode("utf-8"))
        return staff_client.post("/api/support/import", {"file": file})

    wrong_kind = _conforms(validator, upload("notes.txt", "hello"))
    assert wrong_kind["file"] == "notes.txt"
    bad_cell = (
        "provider_urns,system_leader,recipient_urn,support_type,start_date,end_date,days,outcome\n"
        "100001,,100002,jpd,2017-02-30,,,\n"
    )
    cell = _conforms(validator, upload("bad.csv", bad_cell))
    assert (cell["file"], cell["row"], cell["column"]) == ("bad.csv", 2, "start_date")
    no_file = _conforms(validator, staff_client.post("/api/support/import", {}))
    assert no_file["errors"][0]["loc"][-1] == "file"


def test_activity_and_pledge_422_bodies_are_the_declared_schema(staff_client: Client) -> None:
    doc = staff_client.get("/api/openapi.json").json()
    activities = _declared(doc, "/api/support/activities", "post", 422)
    pledges = _declared(doc, "/api/support/pledges", "post", 422)
    a = SchoolFactory(urn=100001, establishment_type="Academy - Converter mainstream")
    SchoolFactory(urn=100002)
    RoleAssignmentFactory(user=UserFactory(username="head"), role=Role.SCHOOL_USER, school=a)
    act = {
        "provider_urns": [100001],
        "recipient_urn": 100002,
        "support_type": "cpd",
        "start_date": "2019-09-01",
    }

    def post(url: str, body: dict[str, Any]) -> Any:
        return staff_client.post(url, body, content_type="application/json")

    for change, field in (
        ({"support_type": "lessons"}, "support_type"),  # django-ninja's own validation
        ({"recipient_urn": 999999}, "recipient_urn"),  # the service's refusal
        ({"recipient_urn": 100001}, "provider_urns"),
        ({"start_date": "2019-09-01", "end_date": "2019-01-01"}, "end_date"),
    ):
        body = _conforms(activities, post("/api/support/activities", {**act, **change}))
        assert any(e["loc"][-1] == field for e in body["errors"]), body
    pledge = {"academy_urn": 100001, "supported_urn": 100002, "pledge_date": str(dt.date(2016, 4, 1))}
    for change, field in (
        ({"supported_urn": 100001}, "supported_urn"),
        ({"supported_urn": 999999}, "supported_urn"),
        ({"pledge_date": "soon"}, "pledge_date"),
    ):
        body = _conforms(pledges, post("/api/support/pledges", {**pledge, **change}))
        assert body["errors"][0]["loc"][-1] == field, body
