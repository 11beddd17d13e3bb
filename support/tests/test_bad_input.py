"""Issue 10: bad input to the support ledger is a clear 4xx, never a database error: NUL and control
characters in imported cells (file, row and column named), URNs beyond 64 bits, non-finite days, NUL in a
pledge note (JSON) and in the list filters."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tests.factories import UserFactory
from schools.tests.factories import (
    SchoolFactory,
    empty_database,  # noqa: F401 - fixture
)
from support.models import ConverterPledge, SupportActivity

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]

HEADER = "provider_urns,system_leader,recipient_urn,support_type,start_date,end_date,days,outcome\n"
PLEDGES = "academy_urn,supported_urn,pledge_date,note\n"


@pytest.fixture(autouse=True)
def schools() -> None:
    for u in (100001, 100002):
        SchoolFactory(urn=u, establishment_type="Academy - Converter mainstream")


def _upload(client: Any, text: str, name: str = "bad.csv") -> Any:
    client.force_login(UserFactory(username="staffer", password=None, is_staff=True))
    client.raise_request_exception = False
    return client.post("/api/support/import", {"file": SimpleUploadedFile(name, text.encode("utf-8"))})


@pytest.mark.parametrize(
    ("text", "row", "column"),
    [
        (HEADER + "100001,,100002,jpd,2017-09-01,,,Lesson\x00study\n", 2, "outcome"),
        (
            HEADER + "100001,,100002,jpd,2017-09-01,,,ok\n100001,Jo\x07,100002,cpd,2017-09-01,,,\n",
            3,
            "system_leader",
        ),
        (PLEDGES + "100001,100002,2016-04-01,bell\x00\n", 2, "note"),
        (HEADER + "100001,,9223372036854775808,jpd,2017-09-01,,,\n", 2, "recipient_urn"),
        (HEADER + "100001;99999999999999999999,,100002,jpd,2017-09-01,,,\n", 2, "provider_urns"),
        (HEADER + "100001,,\u00b2,jpd,2017-09-01,,,\n", 2, "recipient_urn"),
        (HEADER + "100001,,100002,jpd,2017-09-01,,NaN,\n", 2, "days"),
        (HEADER + "100001,,100002,jpd,2017-09-01,,Infinity,\n", 2, "days"),
        (HEADER + "100001,,100002,jpd,2017-09-01,,1e9,\n", 2, "days"),
    ],
)
def test_bad_cells_are_refused_naming_file_row_and_column(client, text, row, column):
    r = _upload(client, text)
    assert r.status_code == 422, r.content
    body = r.json()
    assert (body["file"], body["row"], body["column"]) == ("bad.csv", row, column)
    assert not SupportActivity.objects.exists() and not ConverterPledge.objects.exists()


def test_pledge_note_with_nul_in_json_is_refused(client):
    client.force_login(UserFactory(username="staffer", password=None, is_staff=True))
    body = {"academy_urn": 100001, "supported_urn": 100002, "pledge_date": "2016-04-01", "note": "a\x00b"}
    r = client.post("/api/support/pledges", body, content_type="application/json")
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "note"]
    assert not ConverterPledge.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/api/support/activities?region=%00",
        "/api/support/pledges?trust=a%00",
        "/api/support/activities?provider=9223372036854775808",
        "/api/support/pledges?academy=99999999999999999999",
        "/api/support/activities?page=922337203685477580",
    ],
)
def test_list_filters_refuse_nul_and_huge_numbers(client, url):
    client.raise_request_exception = False
    r = client.get(url)
    assert r.status_code in (400, 422)
    assert r["Content-Type"] == "application/problem+json"
