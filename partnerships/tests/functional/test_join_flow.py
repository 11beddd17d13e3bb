"""Browser test (headless Chromium): one whole join flow - the school user asks, the trust admin consents, the
regional approver approves - and the school then shows on the trust page, which passes axe."""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import RoleAssignmentFactory, UserFactory
from conftest import run_axe
from partnerships import services
from partnerships.models import Kind, Membership, PartnershipRequest
from schools.tests.factories import CensusRecordFactory, MembershipFactory, PartnershipFactory, SchoolFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.functional, pytest.mark.django_db(transaction=True)]

UNREACHABLE_TILES = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"
REGION = "North West B"


@pytest.fixture
def setup(settings):
    settings.MAP_TILE_URL = UNREACHABLE_TILES
    cache.clear()
    trust = PartnershipFactory(kind=Kind.MAT, name="Riverside Learning Trust", external_id="TR09001")
    PartnershipFactory(kind=Kind.MAT, name="Riverbank Academies", external_id="TR09002")
    member = SchoolFactory(
        urn=160001,
        name="Riverside Primary",
        region_name=REGION,
        la_name="Wigan",
        latitude=53.545,
        longitude=-2.632,
    )
    joiner = SchoolFactory(
        urn=160002,
        name="Hillside Primary",
        region_name=REGION,
        la_name="Wigan",
        latitude=53.56,
        longitude=-2.60,
    )
    CensusRecordFactory(school=member, year=2025, nor=300)
    CensusRecordFactory(school=joiner, year=2025, nor=150)
    MembershipFactory(partnership=trust, school=member)
    services.recompute()
    users = {}
    for name, role, scope in (
        ("head", Role.SCHOOL_USER, {"school": joiner}),
        ("board", Role.TRUST_ADMIN, {"partnership": trust}),
        ("director", Role.REGIONAL_APPROVER, {"region": REGION}),
    ):
        users[name] = UserFactory(username=name, password=f"pw-{name}-12345")
        RoleAssignmentFactory(user=users[name], role=role, **scope)
    yield trust, joiner
    cache.clear()


def _sign_in(page, base: str, name: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", name)
    page.fill("#id_password", f"pw-{name}-12345")
    page.click("form button[type=submit], form .govuk-button")
    page.wait_for_load_state()


def _decide(page) -> None:
    page.check("#decision-form input[value=yes]")
    page.click("#decision-submit")
    page.wait_for_load_state()


def test_join_flow_in_the_browser(live_server, page, setup):
    trust, joiner = setup
    base = live_server.url
    # 1. the head of Hillside follows "join" from the trust page: the trust picker shows that trust
    _sign_in(page, base, "head")
    page.goto(f"{base}/trusts/{trust.pk}/")
    page.click("#join-link")
    page.wait_for_url(re.compile(r"/partnerships/requests/new/"))
    assert page.input_value("#id_join-trust") == "Riverside Learning Trust (TR09001)"
    # only the actions that apply: Hillside is in no trust, so it is not offered "leave"
    assert page.locator("#leave-form").count() == 0
    assert "no trust to leave" in page.locator("#no-leave").inner_text()
    # it picks the trust again by typing part of its name in the type-ahead
    page.fill("#id_join-trust", "")
    page.locator("#id_join-trust").press_sequentially("Riversi", delay=20)
    option = page.locator(".autocomplete__option", has_text="Riverside Learning Trust")
    option.wait_for()
    assert page.locator(".autocomplete__option", has_text="Riverbank").count() == 0
    option.click()
    page.select_option("#id_join-school", str(joiner.urn))
    # a date in the past is refused with a message saying what to fix, in the error summary
    page.fill("#id_join-effective_date", "1")
    page.fill("#id_join-effective_date-month", "9")
    page.fill("#id_join-effective_date-year", "2020")
    page.fill("#id_join-reason", "Shared curriculum")
    page.click("#join-submit")
    summary = page.locator(".govuk-error-summary")
    assert "Proposed date of joining must be today or in the future" in summary.inner_text()
    assert page.title().startswith("Error:")
    violations = run_axe(page)
    assert not violations, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
    # the typed trust was kept; the date is fixed (today: the school joins as soon as it is approved)
    assert page.input_value("#id_join-trust") == "Riverside Learning Trust (TR09001)"
    today = timezone.localdate()
    page.fill("#id_join-effective_date", str(today.day))
    page.fill("#id_join-effective_date-month", str(today.month))
    page.fill("#id_join-effective_date-year", str(today.year))
    page.click("#join-submit")
    page.wait_for_url(re.compile(r"/partnerships/requests/\d+/$"))
    assert "trust board" in page.locator("#request-status").inner_text().lower()
    request_url = page.url
    req = PartnershipRequest.objects.get()
    assert req.partnership_id == trust.pk and req.effective_date == today

    # 2. the trust board sees a notification and consents
    _sign_in(page, base, "board")
    page.goto(f"{base}/notifications/")
    assert page.locator("#notification-count").inner_text().startswith("1")
    page.click("#notifications-list a")
    page.wait_for_url(request_url)
    _decide(page)
    assert "regional director" in page.locator("#request-status").inner_text().lower()

    # 3. the regional director approves
    _sign_in(page, base, "director")
    page.goto(request_url)
    _decide(page)
    assert page.locator("#request-status").inner_text() == "Approved"
    assert Membership.objects.filter(school=joiner, partnership=trust, left__isnull=True).exists()

    # 4. Hillside is now on the trust page at once: the approval recomputed the trust, so the header, the
    #    members table, the map and the trusts list agree without any separate recompute
    page.context.clear_cookies()
    page.goto(f"{base}/trusts/{trust.pk}/")
    assert "Hillside Primary" in page.locator("#members-table").inner_text()
    assert page.locator("#member-count").inner_text() == "2"
    assert page.locator("#pupil-count").inner_text().startswith("450")
    assert page.locator("#members-table td[data-membership]").all_inner_texts() == ["Current member"] * 2
    assert "joined after the figures were last computed" not in page.content()
    page.wait_for_selector("#trust-map[data-ready='true']")
    assert page.locator("#trust-map .leaflet-marker-icon").count() == 2
    violations = run_axe(page)
    assert not violations, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
    # 5. the trusts list shows the same counts
    page.goto(f"{base}/trusts/?q=Riverside")
    row = page.locator("#compare-table tbody tr").first.locator("td").all_inner_texts()
    assert row[0] == "Riverside Learning Trust" and row[1] == "2" and row[2] == "450"


def test_a_trust_is_found_by_its_dfe_id_in_the_type_ahead(live_server, page, setup):
    trust, joiner = setup
    base = live_server.url
    _sign_in(page, base, "head")
    page.goto(f"{base}/partnerships/requests/new/")
    page.locator("#id_join-trust").press_sequentially("TR09001", delay=20)
    page.locator(".autocomplete__option", has_text="Riverside Learning Trust").click()
    page.fill("#id_join-effective_date", "1")
    page.fill("#id_join-effective_date-month", "9")
    page.fill("#id_join-effective_date-year", str(dt.date.today().year + 1))
    page.click("#join-submit")
    page.wait_for_url(re.compile(r"/partnerships/requests/\d+/$"))
    assert PartnershipRequest.objects.get().partnership_id == trust.pk
