"""Hole 4 of issue 10: a control character stored in an ISSP post, a federation name or a designation broke
the XLSX exports for everyone (openpyxl IllegalCharacterError). The exports now clean every cell, and the
forms and API refuse such text at input."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from partnerships import services
from partnerships.models import Designation, IsspPost, Kind, PartnershipRequest
from partnerships.tests.conftest import EFFECTIVE
from partnerships.tests.factories import IsspPostFactory
from schools.tests.factories import PartnershipFactory

pytestmark = pytest.mark.django_db

BEL = "\x07"


def _xlsx(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content[:300]
    ws = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_issp_posts_xlsx_with_a_control_character(client, world):
    # stored before input was checked (or by another route): the export must not break
    IsspPostFactory(kind=IsspPost.OFFER, school=world.a, description=f"ring{BEL}the bell\x1b {BEL}=1+1")
    posts = _xlsx(client.get("/partnerships/issp/posts.xlsx"))
    assert [p["Details"] for p in posts] == ["ringthe bell =1+1"]


def test_requests_xlsx_with_a_control_character_in_a_federation_name(client, world):
    federation = PartnershipFactory(kind=Kind.FEDERATION, name=f"Bell{BEL} Federation")
    services.submit_join(world.user_a, world.a.urn, world.t1.pk, EFFECTIVE, "growth")
    PartnershipRequest.objects.update(partnership=federation, new_name=f"{BEL}=HYPERLINK(1)")
    client.force_login(world.staff)
    rows = _xlsx(client.get("/partnerships/requests.xlsx"))
    assert len(rows) == 1
    assert "Bell Federation" in rows[0].values()
    # the control character is removed first, then the formula guard still applies
    assert "'=HYPERLINK(1)" in rows[0].values()


def test_designations_xlsx_with_control_characters(client, world):
    Designation.objects.create(
        kind="sle", person_name=f"Ann{BEL}", expertise=f"maths\x1b,{BEL}", valid_from=dt.date(2024, 9, 1)
    )
    rows = _xlsx(client.get("/partnerships/designations.xlsx"))
    assert rows[0]["Person"] == "Ann"
    assert BEL not in "".join(str(v) for v in rows[0].values())


def test_designation_api_refuses_control_characters(client, world):
    client.force_login(world.staff)
    r = client.post(
        "/api/partnerships/designations",
        {"kind": "sle", "person_name": f"Ann{BEL}", "valid_from": "2024-09-01"},
        content_type="application/json",
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "person_name"]
    assert not Designation.objects.exists()


def test_designation_form_refuses_control_characters(client, world):
    client.force_login(world.staff)
    r = client.post(
        "/partnerships/designations/new/",
        {"kind": "sle", "person_name": f"Ann{BEL}", "valid_from": "2024-09-01"},
    )
    assert r.status_code == 200
    assert "control characters" in r.content.decode()
    assert not Designation.objects.exists()


def test_issp_post_form_refuses_control_characters(client, world):
    client.force_login(world.user_a)
    r = client.post(
        "/partnerships/issp/post/",
        {
            "school": world.a.urn,
            "kind": "offer",
            "activity": "sport",
            "description": f"a{BEL}b",
            "max_miles": 5,
        },
    )
    assert r.status_code == 200
    assert "control characters" in r.content.decode()
    assert not IsspPost.objects.exists()
