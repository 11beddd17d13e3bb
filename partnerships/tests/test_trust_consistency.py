"""The trusts list, the trust header and the members table agree after every membership change (join, leave,
future-dated join), because the approving service recomputes that trust in the same transaction."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from partnerships import services
from partnerships.models import TrustAggregate
from partnerships.tests.conftest import World
from schools.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def _seen(client: Client, trust: Any) -> dict[str, Any]:
    """What a reader sees: the header's counts, the members table and the trust's row of the trusts list."""
    page = client.get(f"/trusts/{trust.pk}/").content.decode()
    header = {
        k: _text(re.search(rf'id="{k}">(.*?)</dd>', page, re.S).group(1))  # type: ignore[union-attr]
        for k in ("member-count", "pupil-count", "ofsted-profile")
    }
    table = re.search(r'id="members-table">(.*?)</table>', page, re.S).group(1)  # type: ignore[union-attr]
    states = [
        _text(s) for s in re.findall(r"<td class=\"govuk-table__cell\" data-membership>(.*?)</td>", table)
    ]
    listing = client.get("/trusts/", {"q": trust.name}).content.decode()
    row = re.search(rf'href="/trusts/{trust.pk}/">.*?</tr>', listing, re.S).group(0)  # type: ignore[union-attr]
    cells = [_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    return {
        "header": header,
        "current_rows": sum(1 for s in states if s.startswith("Current member")),
        "states": states,
        "list_members": cells[0],
        "list_pupils": cells[1],
        "page": _text(page),
    }


def _approve_join(w: World, school: Any, trust: Any, when: dt.date) -> None:
    user = {w.a.urn: w.user_a, w.b.urn: w.user_b, w.c.urn: w.user_c}[school.urn]
    req = services.submit_join(user, school.urn, trust.pk, when)
    services.trust_consent(w.admin_t1, req.pk, True)
    services.regional_decision(w.approver, req.pk, True)


def test_join_and_leave_update_list_header_and_table_at_once(client: Client, world: World) -> None:
    w = world
    MembershipFactory(partnership=w.t1, school=w.c, joined=dt.date(2015, 9, 1))
    services.recompute()
    before = _seen(client, w.t1)
    assert before["header"]["member-count"] == "1" and before["current_rows"] == 1
    assert before["list_members"] == "1" and before["header"]["pupil-count"].startswith("400")

    w.a.ofsted_rating = "Outstanding"
    w.a.save()
    today = timezone.localdate()  # a join dated today (the earliest a join may be dated) counts at once
    _approve_join(w, w.a, w.t1, today)
    after = _seen(client, w.t1)
    assert after["header"]["member-count"] == after["list_members"] == "2"
    assert after["current_rows"] == 2
    assert after["header"]["pupil-count"].startswith("495") and after["list_pupils"] == "495"  # 95 + 400
    assert "Outstanding: 1" in after["header"]["ofsted-profile"]
    assert TrustAggregate.objects.get(partnership=w.t1).members == 2

    # leaving by consent: the header, list and table drop the school together
    req = services.submit_leave(w.user_a, w.a.urn, today, "Moving on")
    services.trust_consent(w.admin_t1, req.pk, True)
    services.regional_decision(w.approver, req.pk, True)
    left = _seen(client, w.t1)
    assert left["header"]["member-count"] == left["list_members"] == "1" and left["current_rows"] == 1
    assert left["list_pupils"] == "400"


def test_a_future_dated_join_reads_joining_on_and_is_not_counted(client: Client, world: World) -> None:
    w = world
    MembershipFactory(partnership=w.t1, school=w.c, joined=dt.date(2015, 9, 1))
    services.recompute()
    _approve_join(w, w.b, w.t1, dt.date(2027, 9, 1))
    seen = _seen(client, w.t1)
    assert "Joining on 1 September 2027" in seen["states"]
    assert "Current member" not in [s for s in seen["states"] if s.startswith("Joining")]
    assert seen["header"]["member-count"] == seen["list_members"] == "1" and seen["current_rows"] == 1
    assert "1 school will join on a later date and is not counted until then" in seen["page"]
    # on that date a recompute counts it (the figures of a later day)
    a = services.recompute_trust(w.t1.pk, today=dt.date(2027, 9, 1))
    assert a is not None and a.members == 2 and a.pupils == 580


def test_recompute_trust_equals_the_full_recompute_and_leaves_other_trusts_alone(world: World) -> None:
    w = world
    MembershipFactory(partnership=w.t1, school=w.c, joined=dt.date(2015, 9, 1))
    MembershipFactory(partnership=w.t2, school=w.b, joined=dt.date(2015, 9, 1))
    services.recompute()
    full = {a.partnership_id: a for a in TrustAggregate.objects.all()}
    other_at = full[w.t2.pk].computed_at
    one = services.recompute_trust(w.t1.pk)
    assert one is not None
    fields = ["members", "pupils", "ofsted", "performance", "member_rows", "attribution", "ks2_headline"]
    assert [getattr(one, f) for f in fields] == [getattr(full[w.t1.pk], f) for f in fields]
    assert TrustAggregate.objects.get(partnership=w.t2).computed_at == other_at


def test_the_school_page_says_joining_on_for_a_future_dated_membership(client: Client, world: World) -> None:
    w = world
    _approve_join(w, w.b, w.t1, dt.date(2027, 9, 1))
    html = client.get(f"/schools/{w.b.urn}/").content.decode()
    assert "Joining on 1 September 2027" in html
    table = re.search(r'id="partnerships-table">(.*?)</table>', html, re.S)
    assert table is not None and "Current member" not in _text(table.group(1))
