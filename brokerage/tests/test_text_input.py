"""Issue 18, row 8: a 1 MB need `evidence` was accepted. Free text has a size (MAX_TEXT) on the API and the page,
checked before anything is stored; direction controls are refused."""

from __future__ import annotations

from typing import Any

import pytest

from brokerage.models import Need
from brokerage.tests.helpers import world
from schoolpartners.params import MAX_TEXT
from schools.tests.factories import empty_database  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]


def _need(client: Any, w: Any, evidence: str) -> Any:
    body = {"school": w.needy.urn, "area": "maths", "evidence": evidence}
    return client.post("/api/brokerage/needs", body, content_type="application/json")


def test_a_megabyte_of_evidence_is_refused(client):
    w = world()
    client.force_login(w.needy_user)
    before = Need.objects.count()
    r = _need(client, w, "x" * 1_000_000)
    assert r.status_code == 422 and r["Content-Type"] == "application/problem+json"
    assert "at most 10,000 characters" in r.json()["detail"]
    assert Need.objects.count() == before
    assert _need(client, w, "\u202eevidence").status_code == 422
    assert Need.objects.count() == before
    r = _need(client, w, "y" * MAX_TEXT)
    assert r.status_code in (200, 201), r.content
    assert Need.objects.count() == before + 1
