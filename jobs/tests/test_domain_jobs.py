"""The jobs of issue 13, each run by a real worker (`db_worker --batch`): one trust's figures after a membership
change, a broker's what-if matching started from the page, the staff recompute page's buttons; the job list
page (mine; everyone's for staff), its exports and `GET /api/jobs`."""

from __future__ import annotations

import csv
import io
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client

from accounts.tests.factories import UserFactory
from audit.models import AuditEvent
from brokerage.models import MatchingRun
from brokerage.tests.helpers import world
from jobs.models import Job, JobState
from partnerships.models import TrustAggregate
from partnerships.tasks import recompute_trust_job, recompute_trust_on_commit, start_trust_recompute
from schoolpartners import jobs
from schools.tests.factories import MembershipFactory, PartnershipFactory, SchoolFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def keep_signals() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for s, h in saved.items():
        signal.signal(s, h)


def run_worker() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", "--no-reload", verbosity=0)


def new_user(**kw: Any) -> Any:
    return UserFactory(**kw)


def test_a_membership_change_recomputes_that_trust_only_as_a_job() -> None:
    trust: Any = PartnershipFactory(name="Oak Trust")
    other: Any = PartnershipFactory(name="Elm Trust")
    for urn in (700001, 700002):
        MembershipFactory(partnership=trust, school=SchoolFactory(urn=urn))
    MembershipFactory(partnership=other, school=SchoolFactory(urn=700003))
    start_trust_recompute(other.pk)
    run_worker()
    elm = TrustAggregate.objects.get(partnership=other)
    assert not TrustAggregate.objects.filter(partnership=trust).exists()
    with transaction.atomic():  # e.g. an approved join: queued only once the change commits
        MembershipFactory(partnership=trust, school=SchoolFactory(urn=700004))
        recompute_trust_on_commit(trust.pk)
        assert not Job.objects.filter(title="Figures for Oak Trust").exists()
    job = Job.objects.get(title="Figures for Oak Trust")
    run_worker()
    job.refresh_from_db()
    assert job.state == JobState.DONE and job.result == {
        "partnership": trust.pk,
        "members": 3,
        "outcome": "inserted",
    }
    assert TrustAggregate.objects.get(partnership=trust).members == 3
    assert TrustAggregate.objects.get(partnership=other).computed_at == elm.computed_at  # left alone
    assert AuditEvent.objects.filter(action="partnerships.recompute", object_id=str(trust.pk)).count() == 1
    assert recompute_trust_job.call(job.pk)["skipped"]  # a re-run of a finished job does nothing


def test_a_what_if_matching_started_on_the_page_runs_as_the_brokers_job(client: Client) -> None:
    w = world()
    client.force_login(w.broker)
    form = {"region": "West Midlands", "trust_rule": "none", "max_radius": "20", "background": "1"}
    r = client.post("/brokerage/", form)
    job = Job.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/jobs/{job.pk}/"
    assert job.kind == "brokerage.matching" and job.title == "What-if matching: West Midlands"
    assert not MatchingRun.objects.exists()  # nothing solved in the request
    assert "Queued" in client.get(r["Location"]).content.decode()
    run_worker()
    job.refresh_from_db()
    run = MatchingRun.objects.get()
    assert job.state == JobState.DONE and (job.result or {}).get("run") == run.pk and run.what_if
    assert job.owner == w.broker and run.created_by == w.broker
    html = client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'id="job-done"' in html and f'href="/brokerage/runs/{run.pk}/"' in html
    assert client.get(f"/brokerage/runs/{run.pk}/").status_code == 200


def test_a_matching_job_whose_broker_lost_the_role_fails_without_retrying(client: Client) -> None:
    w = world()
    client.force_login(w.broker)
    client.post("/brokerage/", {"region": "West Midlands", "trust_rule": "none", "background": "1"})
    w.broker.roles.all().delete()
    run_worker()
    job = Job.objects.get()
    assert (job.state, job.attempts) == (JobState.FAILED, 1)
    assert "Only a broker for this region" in job.message and not MatchingRun.objects.exists()


def test_staff_start_national_recomputes_from_their_page(client: Client) -> None:
    staff = new_user(username="staffer", is_staff=True)
    client.force_login(new_user(username="plain"))
    assert client.get("/jobs/recompute/").status_code == 302  # to sign in as staff
    client.force_login(staff)
    html = client.get("/jobs/recompute/").content.decode()
    for label in ("Recompute similarity", "Recompute trusts", "Recompute evaluation", "Brokerage derive"):
        assert label in html
    r = client.post("/jobs/recompute/", {"recompute": "brokerage"})
    job = Job.objects.get()
    assert r["Location"] == f"/jobs/{job.pk}/" and job.kind == "recompute.brokerage"
    assert client.post("/jobs/recompute/", {"recompute": "everything"}).status_code == 302
    assert Job.objects.count() == 1  # an unknown choice queues nothing
    run_worker()
    job.refresh_from_db()
    assert job.state == JobState.DONE and job.message.startswith("Derived needs and offers")
    assert AuditEvent.objects.filter(action="brokerage.derive").count() == 1
    assert "Brokerage derive" in client.get("/jobs/recompute/").content.decode()


def test_the_job_list_shows_mine_and_everyones_to_staff(client: Client) -> None:
    anna, ben = new_user(username="anna"), new_user(username="ben")
    staff = new_user(username="staffer", is_staff=True)
    a = jobs.create("support.import", owner=anna, title="anna.csv")
    jobs.create("support.import", owner=ben, title="ben.csv")
    jobs.create("recompute.trusts", owner=None, title="system job")
    Job.objects.filter(pk=a.pk).update(done=1234, total=5000, state=JobState.RUNNING, attempts=2)
    client.force_login(anna)
    html = client.get("/jobs/?all=1").content.decode()  # not staff: still only her own
    assert "anna.csv" in html and "ben.csv" not in html and "2 of 3" in html and "25%" in html
    assert 'id="jobs-live" data-poll="/api/jobs?limit=100"' in html  # a job runs: the list follows it
    r: Any = client.get("/jobs.csv")
    text = b"".join(r.streaming_content).decode().lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["Title"] for r in rows] == ["anna.csv"] and rows[0]["Attempts"] == "2"
    assert [j["title"] for j in client.get("/api/jobs?all=true").json()] == ["anna.csv"]
    client.force_login(staff)
    assert client.get("/api/jobs").json() == []
    body = client.get("/api/jobs?all=true&limit=2").json()
    assert [j["title"] for j in body] == ["system job", "ben.csv"]
    html = client.get("/jobs/?all=1").content.decode()
    assert "anna.csv" in html and "ben.csv" in html and "All background jobs" in html
    assert client.get("/jobs.xlsx?all=1").status_code == 200
    client.logout()
    assert client.get("/jobs/").status_code == 302
    assert client.get("/api/jobs?all=true").json() == []  # anonymous: nothing, not even system jobs


def test_staff_upload_a_national_data_file_imported_as_a_job_once(client: Client) -> None:
    from pathlib import Path

    from django.core.files.uploadedfile import SimpleUploadedFile

    from schools.models import ImportRun

    data = (Path(__file__).resolve().parents[2] / "data/bundle/la_and_region_codes_meta.csv.xz").read_bytes()
    client.force_login(new_user(username="plain"))
    assert client.get("/imports/upload/").status_code == 302  # staff only
    client.force_login(new_user(username="staffer", is_staff=True))
    assert client.get("/imports/upload/").status_code == 200
    upload = SimpleUploadedFile("la_and_region_codes_meta.csv.xz", data)
    r = client.post("/imports/upload/", {"file": upload})
    job = Job.objects.get()
    assert r["Location"] == f"/jobs/{job.pk}/" and job.kind == "schools.import"
    assert not ImportRun.objects.exists()  # nothing imported in the request
    run_worker()
    job.refresh_from_db()
    assert job.state == JobState.DONE, job.message
    assert (job.result or {}).get("kind") == "la_codes" and (job.result or {}).get("status") == "imported"
    assert ImportRun.objects.filter(ok=True).count() == 1
    assert AuditEvent.objects.filter(action="import").count() == 1
    # The same file again: a second job, which finds it imported (by checksum) and writes nothing.
    client.post("/imports/upload/", {"file": SimpleUploadedFile("la_and_region_codes_meta.csv.xz", data)})
    run_worker()
    again = Job.objects.exclude(pk=job.pk).get()
    assert again.state == JobState.DONE and "already imported" in again.message
    assert ImportRun.objects.count() == 1 and AuditEvent.objects.filter(action="import").count() == 1
    # A file no importer knows fails its job at once, with the importer's message; nothing written.
    client.post("/imports/upload/", {"file": SimpleUploadedFile("mystery.csv", b"a,b,c\n1,2,3\n")})
    run_worker()
    bad = Job.objects.order_by("-pk").first()
    assert bad is not None and (bad.state, bad.attempts) == (JobState.FAILED, 1)
    assert "matches no known file format" in bad.message and ImportRun.objects.count() == 1
    r = client.post("/imports/upload/", {"file": SimpleUploadedFile("notes.txt", b"hello")})
    assert r.status_code == 400 and "Choose a CSV file" in r.content.decode()
