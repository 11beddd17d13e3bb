"""Access rules of the JSON API: every operation states its policy; public data cannot be changed through it."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from schoolpartners.access import BY_CODE, PUBLIC_READ
from schools.tests.factories import SchoolFactory

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch", "delete")


def openapi(client: Client) -> dict:
    return client.get("/api/openapi.json").json()


def operations(client: Client) -> list[tuple[str, str, dict]]:
    schema = openapi(client)
    return [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()]


def test_every_operation_declares_an_access_policy(client: Client) -> None:
    ops = operations(client)
    assert ops, "no API operations found"
    undeclared = [
        f"{method.upper()} {path}" for path, method, op in ops if op.get("x-access-policy") not in BY_CODE
    ]
    assert not undeclared, (
        f"operations without an access policy (schoolpartners.apikit.operation): {undeclared}"
    )
    for path, method, op in ops:  # the description derives from the policy object
        assert op["description"].startswith(BY_CODE[op["x-access-policy"]].phrase), (method, path)


def test_public_operations_are_reads_only(client: Client) -> None:
    for path, method, op in operations(client):
        if op["x-access-policy"] == PUBLIC_READ.code:
            assert method == "get", f"{method.upper()} {path} is public but not a read"
            assert "security" not in op, f"{method.upper()} {path} is public but asks for a session"


def test_every_write_needs_a_session_and_documents_its_refusals(client: Client) -> None:
    writes = [(p, m, op) for p, m, op in operations(client) if m in WRITE_METHODS]
    assert writes
    for path, method, op in writes:
        assert op.get("security"), f"{method.upper()} {path} accepts anonymous writes"
        assert {"401", "403", "422", "429"} <= set(op["responses"]), (method, path, list(op["responses"]))


def _concrete(path: str) -> str:
    return re.sub(r"\{urn\}", "100001", re.sub(r"\{(?!urn\})[^}]+\}", "1", path))


def test_no_route_accepts_writes_on_public_data(client: Client) -> None:
    SchoolFactory(urn=100001)
    paths = [p for p in openapi(client)["paths"]] + ["/api/schools/100001"]
    assert "/api/schools" in paths
    for path in paths:
        url = _concrete(path)
        # the URL resolves (other apps' routes may 404 without their data, e.g. no similarity run yet)
        assert client.get(url).status_code in (200, 404), url
        for method in WRITE_METHODS:
            r = getattr(client, method)(url, data="{}", content_type="application/json")
            assert r.status_code in (401, 403, 405), f"{method.upper()} {url} -> {r.status_code}"
    # nothing was changed
    assert client.get("/api/schools").json()["count"] == 1
