"""The brokerage section of a trust admin's home page: the proposals and deployments of the trust's schools, to
know (the schools answer them), and nothing of other schools."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.models import Role
from brokerage import services
from brokerage.tests.factories import ProposalFactory
from brokerage.tests.helpers import user, world
from schools.tests.factories import (
    MembershipFactory,
    PartnershipFactory,
    empty_database,  # noqa: F401 - fixture
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]


def _status(page: str, task: str) -> str:
    m = re.search(re.escape(task) + r".*?govuk-task-list__status[^>]*>(.*?)</div>", page, re.S)
    assert m, task
    return re.sub(r"<[^>]+>", "", m.group(1)).strip()


def test_a_trust_admin_sees_what_its_schools_are_asked_and_doing():
    w = world()
    trust = PartnershipFactory(name="Elm Tree Trust")
    MembershipFactory(partnership=trust, school=w.helper)
    admin = user("elm-trust-admin", Role.TRUST_ADMIN, partnership=trust)
    other = user("other-trust-admin", Role.TRUST_ADMIN, partnership=PartnershipFactory(name="Other Trust"))
    sent = ProposalFactory(need=w.need, offer=w.offer)  # Elm Primary supports Ash Primary
    ProposalFactory(need=w.need2, offer=w.offer2)  # Fir -> Beech: not the trust's
    c = Client()
    c.force_login(admin)
    page = c.get("/home/").content.decode()
    assert _status(page, "Proposals your trust&#x27;s schools are asked to answer") == "1 open"
    assert "Elm Primary → Ash Primary" in page and "Beech Primary" not in page
    assert _status(page, "Deployments under way in your trust&#x27;s schools") == "None under way"
    assert "Nothing needs your attention now." in page  # to know, not to act on

    services.respond(w.helper_user, sent.pk, "offer", True)
    services.respond(w.needy_user, sent.pk, "need", True)
    page = c.get("/home/").content.decode()
    assert _status(page, "Proposals your trust&#x27;s schools are asked to answer") == "None open"
    assert _status(page, "Deployments under way in your trust&#x27;s schools") == "1 under way"

    c.force_login(other)
    page = c.get("/home/").content.decode()
    assert _status(page, "Proposals your trust&#x27;s schools are asked to answer") == "None open"
