"""No anonymous request can take a worker for seconds (issue 18, row 3): a search export over EXPORT_ROW_BUDGET
rows is a file built once per data version by the job worker; a per-address limit on downloads; a database that
is down answers 503 before any byte of a download (row 8; the served version is in schoolpartners/tests/
test_outage.py, the 20 parallel downloads against gunicorn in schoolpartners/tests/test_export_load.py)."""

from __future__ import annotations

import csv
import io
import signal
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest
from django.core.management import call_command
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from audit import version
from schoolpartners import exportcache
from schools.tests.factories import SchoolFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def keep_signals() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for s, h in saved.items():
        signal.signal(s, h)


@pytest.fixture(autouse=True)
def small_budget(settings: Any, tmp_path: Any) -> None:
    settings.EXPORT_ROW_BUDGET = 3
    settings.EXPORT_CACHE_DIR = tmp_path / "exports"
    settings.EXPENSIVE_THROTTLE = "100/min"
    settings.EXPORT_BUILD_THROTTLE = "100/min"


def run_worker() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", "--no-reload", verbosity=0)


def csv_rows(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_a_small_export_is_answered_in_the_request(client: Any) -> None:
    for i in range(3):
        SchoolFactory(name=f"Oak {i}")
    response = client.get("/schools/export.csv")
    assert response.status_code == 200
    rows = csv_rows(response)
    assert rows[0][:3] == ["URN", "LAESTAB", "School name"] and len(rows) == 4
    assert not DBTaskResult.objects.exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_large_export_is_built_once_by_the_worker_then_served_from_its_file(client: Any, fmt: str) -> None:
    for i in range(5):
        SchoolFactory(name=f"Elm {i}")
    answers = [client.get(f"/schools/export.{fmt}") for _ in range(4)]
    # junk parameters and a page number do not make another file
    answers.append(client.get(f"/schools/export.{fmt}?page=7&nonsense=1"))
    assert {r.status_code for r in answers} == {202}
    assert "Your download is being prepared" in answers[0].content.decode()
    assert answers[0]["Retry-After"] == "5"
    assert DBTaskResult.objects.count() == 1  # one build, however many asked
    run_worker()
    response = client.get(f"/schools/export.{fmt}")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="schools.{fmt}"'
    body = b"".join(response.streaming_content)
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        names = [r[2] for r in rows[1:]]
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(body), read_only=True).active
        names = [r[2] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert names == [f"Elm {i}" for i in range(5)]
    assert DBTaskResult.objects.count() == 1  # served from the file: no second build
    files = list(exportcache.export_dir().glob(f"schools.*.{fmt}"))
    assert len(files) == 1


def test_new_data_means_a_new_file_and_the_old_one_goes(client: Any) -> None:
    for i in range(5):
        SchoolFactory(name=f"Ash {i}")
    client.get("/schools/export.csv")
    run_worker()
    assert client.get("/schools/export.csv").status_code == 200
    (old,) = exportcache.export_dir().glob("schools.*.csv")
    SchoolFactory(name="Ash 5")
    with transaction.atomic():
        version.bump()
    assert client.get("/schools/export.csv").status_code == 202  # not the stale file
    run_worker()
    response = client.get("/schools/export.csv")
    assert len(csv_rows(response)) == 7
    assert not old.exists() and len(list(exportcache.export_dir().glob("schools.*.csv"))) == 1


def test_downloads_are_limited_per_client_address(client: Any, settings: Any) -> None:
    settings.EXPENSIVE_THROTTLE = "3/min"
    SchoolFactory()
    statuses = [client.get("/schools/export.csv", REMOTE_ADDR="203.0.113.5").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    response = client.get("/schools/export.xlsx", REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "Too many requests" in response.content.decode()
    assert client.get("/schools/export.csv", REMOTE_ADDR="198.51.100.7").status_code == 200


def test_new_builds_are_limited_across_all_clients(client: Any, settings: Any) -> None:
    settings.EXPORT_BUILD_THROTTLE = "2/min"
    for i in range(5):
        SchoolFactory(name=f"Yew {i}", phase="primary")
    assert client.get("/schools/export.csv").status_code == 202
    assert client.get("/schools/export.xlsx").status_code == 202
    assert client.get("/schools/export.csv?order=desc", REMOTE_ADDR="198.51.100.7").status_code == 429
    assert DBTaskResult.objects.count() == 2
