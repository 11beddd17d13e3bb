"""Notification emails: sent after commit (never for a rolled-back write), as each user prefers (immediately,
daily digest, off), both parts with one link to the page, the digest exactly once, failures retried, and the
preferences page."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction

from accounts.tests.factories import UserFactory
from audit.models import AuditEvent
from notifications import email, services
from notifications.models import EmailState, Frequency, Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def people() -> dict[str, Any]:
    ann: Any = UserFactory(username="ann", email="ann@example.org", first_name="Ann", last_name="Archer")
    dan: Any = UserFactory(username="dan", email="dan@example.org")
    off: Any = UserFactory(username="off", email="off@example.org")
    nomail = UserFactory(username="nomail", email="")
    services.set_frequency(dan, Frequency.DAILY)
    services.set_frequency(off, Frequency.OFF)
    return {"ann": ann, "dan": dan, "off": off, "nomail": nomail}


def _tell_everyone(people: dict[str, Any], text: str = "Ash Primary asks to join Oak Trust.") -> None:
    with transaction.atomic():
        services.notify(people.values(), text, "/partnerships/requests/7/")


def test_immediate_email_after_commit_with_text_and_html_parts(
    people, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://schoolpartners.example"
    with django_capture_on_commit_callbacks(execute=True):
        _tell_everyone(people)
    assert [m.to for m in mail.outbox] == [["ann@example.org"]]  # dan: digest; off: none; nomail: no address
    m = mail.outbox[0]
    assert m.subject == "School Partners: Ash Primary asks to join Oak Trust."
    link = "https://schoolpartners.example/partnerships/requests/7/"
    assert "Dear Ann Archer" in m.body and link in m.body
    html, mime = m.alternatives[0]
    assert mime == "text/html" and f'href="{link}"' in html and "Ash Primary asks to join Oak Trust." in html
    states = dict(Notification.objects.values_list("user__username", "email_state"))
    assert states == {"ann": "sent", "dan": "digest", "off": "none", "nomail": "none"}
    assert Notification.objects.get(user=people["ann"]).emailed_at is not None


def test_a_rolled_back_write_sends_nothing(people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            services.notify([people["ann"]], "Never happened", "/x/")
            raise RuntimeError("the write fails")
    assert mail.outbox == [] and not Notification.objects.exists()


def test_daily_digest_lists_each_waiting_notification_once_and_is_idempotent(
    people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _tell_everyone(people, "First thing")
        _tell_everyone(people, "Second thing")
    mail.outbox.clear()
    out = email.send_digests()
    assert out == {"digests": 1, "notifications": 2, "retried": 0}
    assert [m.to for m in mail.outbox] == [["dan@example.org"]]
    digest = mail.outbox[0]
    assert digest.subject == "School Partners: 2 new notifications today"
    assert digest.body.index("First thing") < digest.body.index("Second thing")
    assert (
        "/partnerships/requests/7/" in digest.body
        and "/partnerships/requests/7/" in digest.alternatives[0][0]
    )
    assert email.send_digests() == {"digests": 0, "notifications": 0, "retried": 0}
    call_command("notifications", "digest")
    assert len(mail.outbox) == 1  # never the same notification twice


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_failed_send_is_kept_and_retried_by_the_digest_command(
    people, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _closed_port(), 2
    with django_capture_on_commit_callbacks(execute=True):
        _tell_everyone(people)
    n = Notification.objects.get(user=people["ann"])
    assert n.email_state == EmailState.NOW and n.emailed_at is None  # refused connection: kept for a retry
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert email.send_digests()["retried"] == 1
    assert [m.to for m in mail.outbox] == [["ann@example.org"], ["dan@example.org"]]
    assert email.send_digests() == {"digests": 0, "notifications": 0, "retried": 0}


def test_turning_emails_off_drops_the_waiting_ones(people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _tell_everyone(people)
    services.set_frequency(people["dan"], Frequency.OFF)
    assert Notification.objects.get(user=people["dan"]).email_state == EmailState.NONE
    mail.outbox.clear()
    assert email.send_digests()["digests"] == 0 and mail.outbox == []
    assert AuditEvent.objects.filter(action="notifications.preference").count() == 3


def test_preferences_page_shows_saves_and_refuses_nonsense(client, people):
    assert client.get("/account/notifications/").status_code == 302  # sign in first
    client.force_login(people["ann"])
    page = client.get("/account/notifications/").content.decode()
    assert "ann@example.org" in page and 'value="immediately" checked' in page
    r = client.post("/account/notifications/", {"frequency": "daily"})
    assert r.status_code == 302 and services.frequency_of(people["ann"]) == "daily"
    assert 'value="daily" checked' in client.get("/account/notifications/").content.decode()
    bad = client.post("/account/notifications/", {"frequency": "hourly"})
    assert bad.status_code == 200 and "govuk-error-summary" in bad.content.decode()
    assert services.frequency_of(people["ann"]) == "daily"


def test_a_finished_or_failed_import_job_tells_its_owner(people, django_capture_on_commit_callbacks):
    from schoolpartners import jobs

    done = jobs.create("support.import", owner=people["ann"], title="acts.csv")
    failed = jobs.create("support.import", owner=people["ann"], title="bad.csv")
    nobody = jobs.create("support.import", owner=None, title="cli.csv")
    with django_capture_on_commit_callbacks(execute=True):
        jobs.finish(done.pk, {"rows": 3}, message="Imported 3 rows")
        jobs.fail(failed.pk, "Line 2, column days: not a number")
        jobs.finish(nobody.pk, {})
    texts = list(Notification.objects.filter(user=people["ann"]).order_by("id").values_list("text", "url"))
    assert texts == [
        ("Your import “acts.csv” finished: Imported 3 rows.", f"/jobs/{done.pk}/"),
        (
            "Your import “bad.csv” failed and nothing was saved: Line 2, column days: not a number",
            f"/jobs/{failed.pk}/",
        ),
    ]
    assert [m.subject for m in mail.outbox] == [
        "School Partners: Your import “acts.csv” finished: Imported 3 rows.",
        "School Partners: Your import “bad.csv” failed and nothing was saved: Line 2, column days: not a number",
    ]
