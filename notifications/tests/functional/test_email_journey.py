"""Browser journey with a real SMTP peer on loopback (aiosmtpd): a broker sends a proposal, both schools get an
email (plain text and HTML, one link to the page), the school answers from its home page, a user switches to the
daily digest on the preferences page and the digest command sends it once; the home, preferences and audit log
pages pass axe. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command

from brokerage.tests.helpers import PASSWORD, world
from conftest import run_axe
from schoolpartners.tests.smtp import Inbox, free_port

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.functional, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "notifications"


@pytest.fixture
def smtp(settings: Any) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.DEFAULT_FROM_EMAIL = "School Partners <noreply@schoolpartners.test>"
    try:
        yield inbox
    finally:
        controller.stop()


def _parts(msg: EmailMessage) -> tuple[str, str]:
    plain, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert plain is not None and html is not None, msg
    return plain.get_content(), html.get_content()


def _wait_for(inbox: Inbox, address: str, n: int, page: Any) -> list[EmailMessage]:
    for _ in range(50):
        got = inbox.to(address)
        if len(got) >= n:
            return got
        page.wait_for_timeout(100)
    raise AssertionError(f"{address} got {len(inbox.to(address))} emails, expected {n}")


def sign_in(page: Any, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/home/$"))  # sign-in lands on what awaits the user


def check_axe(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    violations: list[Any] = run_axe(page)
    assert not violations, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]


def test_emails_reach_the_smtp_peer_and_the_home_pages_show_what_awaits(live_server, page, settings, smtp):
    settings.SITE_URL = live_server.url
    settings.MAP_TILE_URL = ""
    w = world()
    for u in (w.needy_user, w.helper_user, w.helper2_user, w.broker):
        u.email = f"{u.username}@schools.test"
        u.save(update_fields=["email"])
    base = live_server.url

    # the broker lands on their home page, runs the region's matching and sends Ash Primary's proposal
    sign_in(page, base, w.broker.username)
    assert "Run a matching for West Midlands" in page.locator("main").inner_text()
    check_axe(page, "broker-home")
    page.goto(f"{base}/brokerage/")
    page.select_option("#id_region", "West Midlands")
    page.click("#run-button")
    page.wait_for_url(re.compile(r"/brokerage/runs/\d+/$"))
    for summary in page.locator(".sp-area-group:not([open]) summary").all():  # matches are grouped by area
        summary.click()
    row = page.locator(".matches-table tbody tr", has_text="Ash Primary")
    supporter = w.helper_user if "Elm Primary" in row.inner_text() else w.helper2_user
    row.locator("input[type=checkbox]").check()
    page.click("#send-button")
    page.wait_for_selector("text=1 proposal sent")

    (ash_mail,) = _wait_for(smtp, "head-ash@schools.test", 1, page)
    (supporter_mail,) = _wait_for(smtp, f"{supporter.username}@schools.test", 1, page)
    link = f"{live_server.url}/brokerage/proposals/"
    assert (
        ash_mail["Subject"].startswith("School Partners: Proposal:") and "Ash Primary" in ash_mail["Subject"]
    )
    assert ash_mail["To"] == "head-ash@schools.test" and "noreply@schoolpartners.test" in ash_mail["From"]
    text, html = _parts(ash_mail)
    assert link in text and f'href="{link}"' in html and "Accept or decline" in text
    assert link in _parts(supporter_mail)[0]
    assert smtp.to("broker@schools.test") == []  # the broker made the proposals: nothing to tell them yet

    # Ash's head sees the proposal waiting on their home page and answers it
    sign_in(page, base, w.needy_user.username)
    status = page.locator("#home-brokerage .govuk-task-list__item", has_text="Proposals to answer")
    assert "1 waiting" in status.inner_text()
    assert "Unread notifications" in page.locator("#home-notifications").inner_text()
    check_axe(page, "school-home")
    status.locator("a").click()
    page.locator("#proposals-table button", has_text="Accept").first.click()
    page.wait_for_selector("text=you accepted")
    (answer,) = _wait_for(smtp, f"{supporter.username}@schools.test", 2, page)[1:]
    assert "Ash Primary accepted" in _parts(answer)[0] and "Your answer is still needed" in _parts(answer)[0]
    (to_broker,) = _wait_for(smtp, "broker@schools.test", 1, page)
    assert "Ash Primary accepted" in to_broker["Subject"]

    # the supporter chooses the daily digest; their next notifications wait for it
    sign_in(page, base, supporter.username)
    page.goto(f"{base}/account/notifications/")
    check_axe(page, "preferences")
    page.check("#frequency-daily")
    page.click("text=Save settings")
    page.wait_for_selector("text=Your notification settings have been saved.")
    page.goto(f"{base}/brokerage/proposals/")
    page.locator("#proposals-table button", has_text="Accept").first.click()
    page.wait_for_selector("text=Accepted by both")
    _wait_for(smtp, "head-ash@schools.test", 2, page)  # Ash hears of the deployment at once
    assert len(smtp.to(f"{supporter.username}@schools.test")) == 2  # the supporter's waits for the digest
    call_command("notifications", "digest")
    call_command("notifications", "digest")  # a second run sends nothing again
    digests = smtp.to(f"{supporter.username}@schools.test")[2:]
    assert len(digests) == 1 and digests[0]["Subject"] == "School Partners: 1 new notification today"
    text, html = _parts(digests[0])
    assert "Deployment agreed:" in text and "/brokerage/deployments/" in html

    # staff read the audit log in words, filtered by kind
    staff = w.outsider
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    sign_in(page, base, staff.username)
    page.goto(f"{base}/audit/?kind=brokerage.proposal.accept")
    assert page.locator("#audit-table tbody tr").count() == 2
    assert "Proposal accepted" in page.locator("#audit-table").inner_text()
    check_axe(page, "audit-log")
