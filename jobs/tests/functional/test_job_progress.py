"""Browser test (headless Chromium): a broker starts a what-if matching in the background and lands on its job
page (queued, followed by a static script polling the job API); a real worker (`db_worker --batch`) runs it, and
the page, following the job on its own, reaches "Done" with a link to the matching; the job list shows it.
Axe-clean, no CSP violation (the `page` fixture)."""

from __future__ import annotations

import os
import re
import signal

import pytest
from django.core.management import call_command

from brokerage.models import MatchingRun
from brokerage.tests.functional.test_brokerage_pages import UNREACHABLE_TILES, check_axe, sign_in
from brokerage.tests.helpers import world

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.functional, pytest.mark.django_db(transaction=True)]


def test_a_what_if_matching_job_reaches_done_in_the_browser(live_server, page, settings):
    settings.MAP_TILE_URL = UNREACHABLE_TILES
    w = world()
    base = live_server.url
    sign_in(page, base, w.broker.username)
    page.select_option("#id_region", "West Midlands")
    page.locator("summary", has_text="What if").click()
    page.fill("#id_max_radius", "20")
    page.click("#background-button")
    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    assert "What-if matching: West Midlands" in page.locator("h1").inner_text()
    assert "Queued" in page.locator("#job-state").inner_text()
    assert page.locator("#job-live").count() == 1  # followed by jobs/job-progress.js
    check_axe(page)
    assert not MatchingRun.objects.exists()

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    try:
        call_command(
            "db_worker", "--batch", "--no-startup-delay", "--interval", "0", "--no-reload", verbosity=0
        )
    finally:
        for s, h in saved.items():
            signal.signal(s, h)

    page.wait_for_selector("#job-done", timeout=15000)  # the script saw "done" and reloaded the page
    run = MatchingRun.objects.get()
    assert run.what_if and "needs matched" in page.locator("#job-done").inner_text()
    assert "1 of at most 3" in page.locator("#job-attempts").inner_text()
    assert page.locator("#job-live").count() == 0
    check_axe(page)
    page.click("#job-result-link")
    page.wait_for_url(re.compile(rf"/brokerage/runs/{run.pk}/$"))
    page.goto(f"{base}/jobs/")
    assert "What-if matching: West Midlands" in page.locator("#jobs-table").inner_text()
    assert "Done" in page.locator("#jobs-table").inner_text()
    check_axe(page)
