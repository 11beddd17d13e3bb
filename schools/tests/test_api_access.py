"""Access rules of the JSON API: every operation states its policy; public data cannot be changed through it."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from schools.tests.factories import SchoolFactory

pytestmark = pytest.mark.django_db

# The phrases that name each policy of schoolpartners/access.py in an operation's description.
POLICY_PHRASES = {
    "public-read": "Public: anyone may read; read-only.",
    "staff": "Staff only",
    "signed-in": "Signed-in users only",
}
WRITE_METHODS = ("post", "put", "patch", "delete")


def openapi(client: Client) -> dict:
    return client.get("/api/openapi.json").json()


def test_every_operation_states_its_access_policy(client: Client) -> None:
    schema = openapi(client)
    operations = [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()]
    assert operations, "no API operations found"
    undeclared = [
        f"{method.upper()} {path}"
        for path, method, op in operations
        if not any(phrase in op.get("description", "") for phrase in POLICY_PHRASES.values())
    ]
    assert not undeclared, f"operations without an access policy in their description: {undeclared}"


def test_public_operations_are_reads_only(client: Client) -> None:
    schema = openapi(client)
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if POLICY_PHRASES["public-read"] in op.get("description", ""):
                assert method == "get", f"{method.upper()} {path} is public but not a read"


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
