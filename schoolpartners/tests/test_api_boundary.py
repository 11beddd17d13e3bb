"""The one API boundary (schoolpartners/apikit.py): every family of error answers a JSON problem body with its
status, the OpenAPI document describes those answers and the paged lists, and writes are throttled."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from django.test import Client, override_settings
from ninja import NinjaAPI, Schema
from ninja.testing import TestClient

from schoolpartners import errors
from schoolpartners.access import SIGNED_IN, STAFF
from schoolpartners.apikit import Problem, install, operation, paginated


# --------------------------------------------------------------------------------------------- a test API
class ProcedureError(ValidationError):
    """Stands for a domain's own ValidationError subclass mapped to a status by the composition root."""


boundary = NinjaAPI(urls_namespace="test-api-boundary")
install(boundary, {ProcedureError: 409})

RAISED: dict[str, Exception] = {
    "bad-request": errors.BadRequest("urns must be numbers"),
    "not-signed-in": errors.NotSignedIn("Sign in first"),
    "forbidden": errors.Forbidden("Not your school"),
    "not-found": errors.NotFound("No school with URN 1"),
    "conflict": errors.Conflict("already recorded"),
    "invalid": errors.Invalid("end_date is before start_date", field="end_date"),
    "unavailable": errors.ServiceUnavailable("The database is down"),
    "django-permission": PermissionDenied("Only brokers"),
    "django-missing": ObjectDoesNotExist(),
    "django-404": Http404("No Thing matches the given query."),
    "django-validation": ValidationError("unknown area 'x'"),
    "django-field-validation": ValidationError({"severity": ["must be 1 to 3"]}),
    "mapped-domain": ProcedureError("Your school has already consented."),
}
EXPECTED: dict[str, tuple[int, str, str]] = {  # status, title, part of the detail
    "bad-request": (400, "Bad request", "urns must be numbers"),
    "not-signed-in": (401, "Not signed in", "Sign in first"),
    "forbidden": (403, "Not allowed", "Not your school"),
    "not-found": (404, "Not found", "URN 1"),
    "conflict": (409, "Conflict", "already recorded"),
    "invalid": (422, "Invalid input", "before start_date"),
    "unavailable": (503, "Service unavailable", "database"),
    "django-permission": (403, "Not allowed", "Only brokers"),
    "django-missing": (404, "Not found", "Not found"),
    "django-404": (404, "Not found", "Not found"),
    "django-validation": (400, "Bad request", "unknown area"),
    "django-field-validation": (400, "Bad request", "must be 1 to 3"),
    "mapped-domain": (409, "Conflict", "already consented"),
}


@boundary.get("/raise/{kind}", **operation(SIGNED_IN, dict[str, str], problems=(400, 403, 404, 409, 503)))
def raise_one(request: HttpRequest, kind: str) -> dict[str, str]:
    raise RAISED[kind]


class Item(Schema):
    n: int


@boundary.get("/items", **operation(SIGNED_IN, list[Item]))
@paginated(page_size=3, max_page_size=5)
def items(request: HttpRequest) -> list[dict[str, int]]:
    return [{"n": n} for n in range(7)]


@boundary.post("/staff-write", **operation(STAFF, dict[str, str], write=True))
def staff_write(request: HttpRequest) -> dict[str, str]:
    return {"ok": "yes"}


api_client = TestClient(boundary)


def _is_problem(body: dict[str, Any], status: int) -> None:
    assert Problem.model_validate(body)
    assert body["status"] == status
    assert body["type"].startswith(errors.PROBLEM_TYPE)


@pytest.mark.parametrize("kind", sorted(RAISED))
def test_each_error_family_answers_a_problem_body(kind: str) -> None:
    status, title, detail = EXPECTED[kind]
    r = api_client.get(f"/raise/{kind}")
    assert r.status_code == status
    body = r.json()
    _is_problem(body, status)
    assert body["title"] == title and detail in body["detail"], body
    assert r["Content-Type"].startswith("application/problem+json")


def test_field_errors_are_listed() -> None:
    body = api_client.get("/raise/invalid").json()
    assert body["errors"] == [
        {
            "loc": ["body", "payload", "end_date"],
            "msg": "end_date is before start_date",
            "type": "value_error",
        }
    ]
    body = api_client.get("/raise/django-field-validation").json()
    assert body["errors"][0]["loc"][-1] == "severity"


def test_request_validation_is_a_422_problem_with_field_errors() -> None:
    r = api_client.get("/items", query_params={"page_size": 6})
    assert r.status_code == 422
    body = r.json()
    _is_problem(body, 422)
    assert body["errors"][0]["loc"][-1] == "page_size" and "page_size" in body["detail"]


def test_pagination_envelope_and_bounds() -> None:
    assert api_client.get("/items").json() == {
        "count": 7,
        "page": 1,
        "page_size": 3,
        "results": [{"n": 0}, {"n": 1}, {"n": 2}],
    }
    assert api_client.get("/items", query_params={"page": 3}).json()["results"] == [{"n": 6}]
    assert api_client.get("/items", query_params={"page": 4}).json()["results"] == []
    assert api_client.get("/items", query_params={"page": 0}).status_code == 422
    assert api_client.get("/items", query_params={"page": 10**12}).status_code == 422  # no offset overflow


@pytest.mark.django_db
def test_policy_authentication_answers_401_and_403_problems() -> None:
    anonymous = api_client.post("/staff-write")
    assert anonymous.status_code == 401
    _is_problem(anonymous.json(), 401)
    user = get_user_model().objects.create_user("reader", password="pw-reader-123")
    refused = api_client.post("/staff-write", user=user)
    assert refused.status_code == 403
    _is_problem(refused.json(), 403)
    staff = get_user_model().objects.create_user("staffer", password="pw-staff-123", is_staff=True)
    assert api_client.post("/staff-write", user=staff).json() == {"ok": "yes"}


# --------------------------------------------------------------------------------------------- the real API
@pytest.mark.django_db
def test_real_operations_answer_problem_bodies(client: Client) -> None:
    missing = client.get("/api/schools/999999")
    _is_problem(missing.json(), 404)
    bad = client.get("/api/partnerships/grant", {"urns": "12,abc"})
    assert bad.status_code == 400
    _is_problem(bad.json(), 400)
    anonymous_write = client.post("/api/brokerage/needs", {}, content_type="application/json")
    assert anonymous_write.status_code == 401
    _is_problem(anonymous_write.json(), 401)
    no_run = client.get("/api/similarity/coverage")
    assert no_run.status_code == 404
    _is_problem(no_run.json(), 404)


@pytest.mark.django_db
def test_openapi_documents_problems_pages_and_policies(client: Client) -> None:
    schema = client.get("/api/openapi.json").json()
    components = schema["components"]["schemas"]
    assert {"type", "title", "status", "detail", "errors"} <= set(components["Problem"]["properties"])
    # one component per run shape (they used to merge into one `RunOut`)
    assert {"SimilarityRunOut", "EvaluationRunOut", "MatchingRunOut"} <= set(components)

    def problem_ref(op: dict[str, Any], status: str) -> str:
        return op["responses"][status]["content"]["application/problem+json"]["schema"]["$ref"]

    detail = schema["paths"]["/api/schools/{urn}"]["get"]
    assert problem_ref(detail, "404") == "#/components/schemas/Problem"
    write = schema["paths"]["/api/brokerage/needs"]["post"]
    for status in ("400", "401", "403", "422", "429"):  # 400: a body that is not JSON
        assert problem_ref(write, status) == "#/components/schemas/Problem"
    assert write["x-access-policy"] == "signed-in"
    imports = schema["paths"]["/api/support/import"]["post"]
    assert problem_ref(imports, "422") == "#/components/schemas/ImportProblem"
    for path in (
        "/api/schools",
        "/api/partnerships/trusts",
        "/api/partnerships/designations",
        "/api/support/activities",
        "/api/support/pledges",
    ):
        op = schema["paths"][path]["get"]
        names = {p["name"] for p in op["parameters"]}
        assert {"page", "page_size"} <= names, path
        page = components[
            op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
        ]
        assert set(page["properties"]) == {"count", "page", "page_size", "results"}, path


# --------------------------------------------------------------------------------------------- throttling
@pytest.mark.django_db
def test_writes_answer_429_over_the_configured_rate(client: Client) -> None:
    user = get_user_model().objects.create_user("writer", password="pw-writer-123")
    client.force_login(user)
    payload = {"school": 999999, "area": "maths"}
    with override_settings(API_WRITE_THROTTLE="2/min"):
        first = [
            client.post("/api/brokerage/needs", payload, content_type="application/json") for _ in range(2)
        ]
        assert all(r.status_code != 429 for r in first)
        third = client.post("/api/brokerage/needs", payload, content_type="application/json")
        assert third.status_code == 429
        _is_problem(third.json(), 429)
        assert int(third["Retry-After"]) >= 1
        assert client.get("/api/brokerage/needs").status_code == 200  # reads are not throttled
    with override_settings(API_WRITE_THROTTLE=""):  # no limit
        assert (
            client.post("/api/brokerage/needs", payload, content_type="application/json").status_code != 429
        )
