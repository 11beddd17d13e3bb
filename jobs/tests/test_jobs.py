"""Background jobs: a large support import is queued (page redirects to the job page, API answers 202) and a
real `db_worker --batch` runs it; progress and result show on the job page and API, owner or staff only; a
failing import fails its job and writes nothing; a re-run of a finished job does nothing; `jobs_ready()`."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django_tasks_db.models import DBTaskResult

from accounts.tests.factories import UserFactory
from audit.models import AuditEvent
from jobs.models import Job, JobState
from schoolpartners import jobs
from schools.tests.factories import SchoolFactory
from support.models import SupportActivity
from support.tasks import import_job

# The worker runs in this process on its own transactions: the test's data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

HEADER = "provider_urns,system_leader,recipient_urn,support_type,start_date,end_date,days,outcome\n"


def rows(n: int) -> str:
    return HEADER + "".join(f"100001,,100002,jpd,{2000 + i // 12}-{i % 12 + 1:02d}-01,,,\n" for i in range(n))


def new_user(**kw: Any) -> Any:
    return UserFactory(**kw)


@pytest.fixture(autouse=True)
def setup(settings: Any) -> None:
    settings.SUPPORT_IMPORT_JOB_ROWS = 5  # anything over 5 rows is a job
    for u in (100001, 100002):
        SchoolFactory(urn=u, establishment_type="Academy - Converter mainstream")


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(new_user(username="staff", is_staff=True))
    return client


@pytest.fixture(autouse=True)
def keep_signals() -> Iterator[None]:
    """db_worker installs its own SIGINT/SIGTERM handlers; put pytest's back."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for s, h in saved.items():
        signal.signal(s, h)


def run_worker() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)


def test_a_large_import_through_the_api_is_a_job_run_by_the_worker(staff: Client) -> None:
    r = staff.post("/api/support/import", {"file": SimpleUploadedFile("acts.csv", rows(30).encode())})
    assert r.status_code == 202, r.content
    body = r.json()
    assert body["state"] == "queued" and body["url"] == f"/api/jobs/{body['id']}"
    assert not SupportActivity.objects.exists()  # nothing imported in the request
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    run_worker()
    job = staff.get(body["url"]).json()
    assert job["state"] == "done", job
    assert job["result"] == {
        "file": "acts.csv",
        "kind": "activities",
        "rows": 30,
        "inserted": 30,
        "updated": 0,
        "unchanged": 0,
    }
    assert SupportActivity.objects.count() == 30
    assert AuditEvent.objects.filter(action="support.import").count() == 1
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert Job.objects.get().payload is None  # the upload is not kept
    # Idempotent: the same file again, as another job, changes nothing.
    r = staff.post("/api/support/import", {"file": SimpleUploadedFile("acts.csv", rows(30).encode())})
    run_worker()
    assert staff.get(r.json()["url"]).json()["result"]["unchanged"] == 30
    assert SupportActivity.objects.count() == 30


def test_the_page_redirects_to_the_job_page_which_follows_the_job_with_a_static_script(staff: Client) -> None:
    r = staff.post("/support/import/", {"file": SimpleUploadedFile("acts.csv", rows(12).encode())})
    job = Job.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/jobs/{job.pk}/"
    page = staff.get(r["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and f'id="job-live" data-job-url="/api/jobs/{job.pk}"' in html
    assert "jobs/job-progress.js" in html and "http-equiv" not in html  # no <meta refresh> (WCAG 2.2.1)
    assert "Queued" in html and page["Cache-Control"] == "private, no-store"
    run_worker()
    html = staff.get(f"/jobs/{job.pk}/").content.decode()
    assert (
        "job-live" not in html
        and "job-progress.js" not in html
        and 'id="job-done"' in html
        and "12 rows, 12 new" in html
    )
    assert "12 of 12" in html or "Imported 12 rows" in html


def test_a_failing_import_fails_its_job_and_writes_nothing(staff: Client) -> None:
    bad = rows(10) + "100001,,999999,cpd,2019-01-01,,,\n"  # an unknown school on the last row
    r = staff.post("/api/support/import", {"file": SimpleUploadedFile("bad.csv", bad.encode())})
    assert r.status_code == 202
    run_worker()
    job = staff.get(r.json()["url"]).json()
    assert job["state"] == "failed"
    assert (job["error"]["file"], job["error"]["row"], job["error"]["column"]) == (
        "bad.csv",
        12,
        "recipient_urn",
    )
    assert "not a known school URN" in job["error"]["detail"]
    assert not SupportActivity.objects.exists()
    assert not AuditEvent.objects.filter(action="support.import").exists()
    assert "Nothing was saved" in staff.get(f"/jobs/{job['id']}/").content.decode()


def test_only_the_owner_or_staff_see_a_job(client: Client) -> None:
    owner = new_user(username="owner", is_staff=True)
    job = jobs.create("support.import", owner=owner, title="acts.csv")
    client.force_login(new_user(username="other"))
    assert client.get(f"/api/jobs/{job.pk}").status_code == 404
    assert client.get(f"/jobs/{job.pk}/").status_code == 404
    assert client.get("/api/jobs/999999").status_code == 404
    client.force_login(new_user(username="another-staff", is_staff=True))
    assert client.get(f"/api/jobs/{job.pk}").status_code == 200
    client.force_login(owner)
    assert client.get(f"/api/jobs/{job.pk}").json()["title"] == "acts.csv"
    client.logout()
    assert client.get(f"/api/jobs/{job.pk}").status_code == 404  # no oracle for anonymous callers either
    assert client.get(f"/jobs/{job.pk}/").status_code == 302  # to sign in


def test_a_finished_job_run_again_does_nothing(staff: Client) -> None:
    r = staff.post("/api/support/import", {"file": SimpleUploadedFile("acts.csv", rows(8).encode())})
    run_worker()
    job_id = r.json()["id"]
    assert import_job.call(job_id) == {"job": job_id, "skipped": "already finished"}
    assert AuditEvent.objects.filter(action="support.import").count() == 1


def test_progress_is_reported_while_checking(staff: Client, monkeypatch: Any) -> None:
    import support.importer

    monkeypatch.setattr(support.importer, "PROGRESS_EVERY", 5)
    seen: list[tuple[int, int | None, str]] = []
    real = jobs.progress

    def spy(job_id: int, done: int, total: int | None = None, message: str = "") -> None:
        seen.append((done, total, message))
        real(job_id, done, total, message)

    monkeypatch.setattr(jobs, "progress", spy)
    staff.post("/api/support/import", {"file": SimpleUploadedFile("acts.csv", rows(12).encode())})
    run_worker()
    assert (9, None, "Checking rows: 9 read") in seen
    assert (0, 12, "Writing 12 rows") in seen and (10, 12, "Writing rows: 10 of 12") in seen
    assert Job.objects.get().state == JobState.DONE


def test_jobs_ready() -> None:
    assert jobs.jobs_ready() == (True, "0 task(s) waiting")


def test_serve_starts_a_worker_beside_gunicorn_unless_told_not_to() -> None:
    from io import StringIO

    out = StringIO()
    call_command("serve", "--dry-run", stdout=out)
    assert "schoolpartners.cli db_worker" in out.getvalue()
    out = StringIO()
    call_command("serve", "--dry-run", "--no-worker", stdout=out)
    assert "db_worker" not in out.getvalue()
