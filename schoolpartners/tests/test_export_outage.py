"""A download when the database is down answers 503 before any byte, never a 200 that stops mid-file (issue 18,
row 8: the streamed CSV exports did). Served by gunicorn against a PostgreSQL URL on a closed port (the fixture
of test_outage.py)."""

from __future__ import annotations

import httpx

from schoolpartners.tests.test_outage import down_server  # noqa: F401  (the served app, database down)

EXPORTS = (
    "/schools/export.csv",
    "/schools/export.xlsx",
    "/schools/export.csv?phase=primary&sort=name",
    "/schools/100000/results.csv",
    "/trusts/export.csv",
    "/similarity/coverage.csv",
)


def test_downloads_answer_503_before_any_byte(down_server):  # noqa: F811
    for url in EXPORTS:
        with httpx.stream("GET", f"{down_server}{url}", timeout=20) as response:
            body = response.read()
        assert response.status_code == 503, (url, response.status_code, body[:300])
        assert b"Sorry, the service is unavailable" in body
        assert "attachment" not in response.headers.get("content-disposition", "")
