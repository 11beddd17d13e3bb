"""The school page's panel registry: higher domains register panels at app ready; the page renders them."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from schools import panels
from schools.tests.factories import MembershipFactory, SchoolFactory, empty_database  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_higher_domains_register_their_panels_in_page_order():
    assert [(p.slot, p.name) for p in panels.panels()] == [
        ("summary", "similarity"),
        ("summary", "evaluation"),
        ("partnerships", "partnerships"),
    ]


def test_unknown_slot_is_refused():
    with pytest.raises(ValueError):
        panels.register_panel("x", "x.html", slot="footer")


def test_school_page_renders_registered_panels_and_their_context(client):
    school = SchoolFactory(urn=140001, name="Panel School")
    MembershipFactory(school=school)
    seen = []

    def provider(s):
        seen.append(s.urn)
        return {"extra_panel_value": 42}

    panels.register_panel("zz-test", "partnerships/_school_panel.html", order=99, context=provider)
    try:
        response = client.get(reverse("schools:detail", args=[school.urn]))
    finally:
        panels.unregister_panel("zz-test")
    assert response.status_code == 200
    assert seen == [140001]
    assert response.context["extra_panel_value"] == 42
    assert response.context["panels"]["summary"] == [
        "similarity/_school_summary.html",
        "evaluation/_school_before_after.html",
        "partnerships/_school_panel.html",
    ]
    assert response.context["panels"]["partnerships"] == ["partnerships/_school_panel.html"]
    assert "similarity" in response.context  # the similarity provider ran
    assert "zz-test" not in [p.name for p in panels.panels()]
