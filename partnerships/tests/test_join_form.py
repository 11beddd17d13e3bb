"""Issue 14: a trust is picked by name or DfE id; only the actions that apply to the school are offered; the
proposed date is typed in the GOV.UK date input and cannot be in the past."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client

from partnerships import queries
from partnerships.models import Kind, PartnershipRequest
from partnerships.tests.conftest import EFFECTIVE, World
from schools.tests.factories import MembershipFactory, PartnershipFactory


def test_a_trust_is_found_by_dfe_id_number_or_exact_name(world: World) -> None:
    world.t1.external_id = "TR02659"
    world.t1.save()
    PartnershipFactory(kind=Kind.SAT, name="Lone", external_id="TR88888")
    twin: Any = PartnershipFactory(kind=Kind.MAT, name="Second Trust")
    assert queries.resolve_mat("TR02659") == world.t1.pk
    assert queries.resolve_mat("tr02659") == world.t1.pk
    assert queries.resolve_mat("First Trust (TR02659)") == world.t1.pk
    assert queries.resolve_mat(str(world.t1.pk)) == world.t1.pk
    assert queries.resolve_mat("  first   trust ") == world.t1.pk
    assert "not a multi-academy trust" in str(queries.resolve_mat("TR88888"))
    assert "no multi-academy trust with the DfE id TR99999" in str(queries.resolve_mat("TR99999"))
    assert "More than one trust" in str(queries.resolve_mat("Second Trust"))
    assert twin.pk != world.t2.pk
    assert "No multi-academy trust has that name" in str(queries.resolve_mat("Nowhere Academies"))
    assert (world.t1.pk, "First Trust (TR02659)") in queries.mat_choices()


def _post_join(client: Client, world: World, trust: str, day: str, month: str, year: str) -> str:
    client.force_login(world.user_a)
    r = client.post(
        "/partnerships/requests/new/",
        {
            "which": "join",
            "join-school": world.a.urn,
            "join-trust": trust,
            "join-effective_date-day": day,
            "join-effective_date-month": month,
            "join-effective_date-year": year,
        },
    )
    return r.content.decode() if r.status_code == 200 else r["Location"]


def test_join_by_dfe_id_with_the_date_boxes(client: Client, world: World) -> None:
    world.t1.external_id = "TR02659"
    world.t1.save()
    page = _post_join(client, world, "TR02659", "1", "9", "2020")
    assert "govuk-error-summary" in page and "Proposed date of joining must be today or in the future" in page
    assert 'href="#id_join-effective_date"' in page
    page = _post_join(client, world, "TR02659", "1", "", str(EFFECTIVE.year))
    assert "Proposed date of joining must include a month" in page
    page = _post_join(client, world, "Nowhere", "1", "9", str(EFFECTIVE.year))
    assert "No multi-academy trust has that name" in page and 'href="#id_join-trust"' in page
    assert not PartnershipRequest.objects.exists()
    location = _post_join(client, world, "TR02659", "1", "9", str(EFFECTIVE.year))
    req = PartnershipRequest.objects.get()
    assert location == f"/partnerships/requests/{req.pk}/"
    assert req.partnership_id == world.t1.pk and req.effective_date == dt.date(EFFECTIVE.year, 9, 1)


def test_only_the_actions_that_apply_are_offered(client: Client, world: World) -> None:
    client.force_login(world.user_a)
    page = client.get("/partnerships/requests/new/").content.decode()
    assert 'id="join-form"' in page and 'id="leave-form"' not in page
    assert "not in a multi-academy trust" in page
    MembershipFactory(partnership=world.t1, school=world.a, joined=dt.date(2015, 9, 1))
    page = client.get("/partnerships/requests/new/").content.decode()
    assert 'id="leave-form"' in page and 'id="join-form"' not in page
    assert "already in a multi-academy trust" in page
    school_page = client.get(f"/schools/{world.a.urn}/").content.decode()
    assert "Ask to leave the trust" in school_page
