"""Support ledger: recording (scoped permissions, relationship from memberships, audit), brokered deployments,
pledges and their delivery, the survey report, and the pages."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from accounts.models import Role
from accounts.tests.factories import RoleAssignmentFactory, UserFactory
from audit.models import AuditEvent
from schools.tests.factories import (
    MembershipFactory,
    PartnershipFactory,
    SchoolFactory,
    empty_database,  # noqa: F401 - fixture
)
from support import queries, services
from support.models import Relationship, Source, SupportActivity
from support.tests.factories import SurveyResponseFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]

D = dt.date(2017, 9, 1)


@pytest.fixture
def schools():
    trust, other = PartnershipFactory(), PartnershipFactory()
    a = SchoolFactory(urn=100001, establishment_type="Academy - Converter mainstream", region_name="London")
    b = SchoolFactory(urn=100002, establishment_type="Academy sponsor led mainstream")
    c = SchoolFactory(urn=100003, establishment_type="Academy - Converter mainstream")
    d = SchoolFactory(urn=100004)  # maintained, standalone
    MembershipFactory(partnership=trust, school=a, joined=dt.date(2015, 1, 1))
    MembershipFactory(partnership=trust, school=b, joined=dt.date(2016, 1, 1))
    MembershipFactory(partnership=other, school=c, joined=dt.date(2018, 1, 1))
    return SimpleNamespace(a=a, b=b, c=c, d=d, trust=trust)


def user(name: str, staff: bool = False, school=None):
    u = UserFactory(username=name, password="pw-123456", is_staff=staff)
    if school is not None:
        RoleAssignmentFactory(user=u, role=Role.SCHOOL_USER, school=school)
    return u


def act(provider, recipient, **kw):
    return services.ActivityData(
        recipient_urn=recipient,
        support_type=kw.pop("support_type", "jpd"),
        start_date=kw.pop("start_date", D),
        provider_urns=[provider] if provider else [],
        **kw,
    )


def test_staff_records_with_relationship_and_audit(schools):
    staff = user("staff", staff=True)
    a1 = services.record_activity(act(schools.a.urn, schools.b.urn, days=3), staff)
    assert a1.relationship == Relationship.SAME_TRUST
    assert list(a1.providers.values_list("urn", flat=True)) == [schools.a.urn]
    assert (
        services.record_activity(act(schools.a.urn, schools.d.urn), staff).relationship
        == Relationship.STANDALONE
    )
    # c joined its trust in 2018: before that it was standalone; after, a different trust
    early = services.record_activity(
        act(schools.a.urn, schools.c.urn, start_date=dt.date(2017, 10, 1)), staff
    )
    late = services.record_activity(act(schools.a.urn, schools.c.urn, start_date=dt.date(2018, 10, 1)), staff)
    assert (early.relationship, late.relationship) == (Relationship.STANDALONE, Relationship.DIFFERENT_TRUST)
    assert AuditEvent.objects.filter(action="support.activity.recorded").count() == 4


def test_school_user_may_record_only_for_their_own_school(schools):
    u = user("head", school=schools.a)
    services.record_activity(act(schools.a.urn, schools.b.urn), u)
    with pytest.raises(PermissionDenied):
        services.record_activity(act(schools.c.urn, schools.b.urn), u)  # another school's support
    with pytest.raises(PermissionDenied):
        services.record_activity(act(schools.c.urn, schools.a.urn), u)  # received, not given, by their school
    assert SupportActivity.objects.count() == 1


def test_school_user_refused_on_the_page(schools, client: Client):
    client.force_login(user("head", school=schools.a))
    r = client.post(
        "/support/record/",
        {
            "provider_urns": str(schools.c.urn),
            "recipient_urn": str(schools.b.urn),
            "support_type": "jpd",
            "start_date": "2017-09-01",
        },
    )
    assert r.status_code == 403
    assert SupportActivity.objects.count() == 0
    r = client.post(
        "/support/record/",
        {
            "provider_urns": str(schools.a.urn),
            "recipient_urn": str(schools.b.urn),
            "support_type": "cpd",
            "start_date": "2017-09-01",
            "days": "2.5",
        },
    )
    assert r.status_code == 302
    assert SupportActivity.objects.get().days == 2.5


def test_validation_and_duplicates(schools):
    staff = user("staff", staff=True)
    with pytest.raises(services.SupportError, match="not a known school"):
        services.record_activity(act(schools.a.urn, 999999), staff)
    with pytest.raises(services.SupportError, match="provider school URN or a system leader"):
        services.record_activity(act(None, schools.b.urn), staff)
    with pytest.raises(services.SupportError, match="before start_date"):
        services.record_activity(act(schools.a.urn, schools.b.urn, end_date=dt.date(2017, 1, 1)), staff)
    services.record_activity(act(schools.a.urn, schools.b.urn), staff)
    with pytest.raises(services.SupportError, match="already recorded"):
        services.record_activity(act(schools.a.urn, schools.b.urn), staff)


def test_brokered_deployment_lands_once(schools):
    dep = SimpleNamespace(
        id=7,
        provider_urns=[schools.a.urn],
        system_leader_name="Jo Bloggs NLE",
        recipient_urn=schools.c.urn,
        support_type="system_leader",
        start_date=D,
        end_date=dt.date(2018, 7, 1),
        days=12,
    )
    first = services.record_brokered_deployment(dep)
    dep.days = 15
    again = services.record_brokered_deployment(dep)
    assert first.pk == again.pk and SupportActivity.objects.count() == 1
    again.refresh_from_db()
    assert again.days == 15 and again.source == Source.BROKERAGE and again.external_ref == "brokerage:7"
    leader_only = services.record_brokered_deployment(
        {
            "recipient_urn": schools.d.urn,
            "system_leader_name": "A Leader",
            "start_date": D,
            "support_type": "other",
        }
    )
    assert leader_only.relationship == Relationship.UNKNOWN


def test_pledges_delivered_by_region_and_trust(schools):
    staff = user("staff", staff=True)
    services.record_pledge(schools.a.urn, schools.d.urn, dt.date(2016, 4, 1), staff)
    services.record_pledge(schools.a.urn, schools.c.urn, dt.date(2016, 4, 1), staff)
    with pytest.raises(services.SupportError):
        services.record_pledge(schools.a.urn, schools.a.urn, dt.date(2016, 4, 1), staff)
    with pytest.raises(PermissionDenied):
        services.record_pledge(
            schools.a.urn, schools.d.urn, dt.date(2017, 4, 1), user("other", school=schools.b)
        )
    # delivered: same provider and recipient, starting on/after the pledge; an earlier activity does not count
    services.record_activity(act(schools.a.urn, schools.d.urn, start_date=dt.date(2016, 9, 1)), staff)
    services.record_activity(act(schools.a.urn, schools.c.urn, start_date=dt.date(2015, 9, 1)), staff)
    rows = {r["supported_urn"]: r for r in queries.pledge_rows()}
    assert rows[schools.d.urn]["delivered"] and not rows[schools.c.urn]["delivered"]
    region = queries.pledge_summary(list(rows.values()), "region")
    assert region[0] == {"name": "England", "pledged": 2, "delivered": 1, "percent": 50.0}
    assert {"name": "London", "pledged": 2, "delivered": 1, "percent": 50.0} in region
    trust = queries.pledge_summary(list(rows.values()), "trust")
    assert trust[1]["name"] == schools.trust.name


def test_survey_report(schools):
    SurveyResponseFactory(
        school=schools.a,
        survey_year=2014,
        supports_others=True,
        support_types=["jpd", "cpd"],
        supported_before_conversion=False,
    )
    SurveyResponseFactory(school=schools.b, survey_year=2014, supports_others=False)
    services.record_activity(
        act(schools.c.urn, schools.d.urn, support_type="governance"), user("s", staff=True)
    )
    rep = queries.survey_report()
    assert rep["overall"][0] == {
        "name": "Academies supporting other schools",
        "count": 2,
        "base": 3,
        "percent": 66.7,
    }
    by_route = {r["name"]: r for r in rep["by_route"]}
    assert by_route["Converter"]["count"] == 2 and by_route["Sponsored"]["count"] == 0
    assert rep["newly"][0]["count"] == 1
    by_rel = {r["name"]: r["count"] for r in rep["by_relationship"]}
    assert by_rel["With a standalone school"] == 1


def test_pages(schools, client: Client):
    assert client.get("/support/").status_code == 302  # sign in first
    assert client.get("/support/import/").status_code == 302
    assert client.get("/support/report/").status_code == 200
    client.force_login(user("head", school=schools.a))
    assert client.get("/support/import/").status_code == 302  # staff only
    assert client.get("/support/").status_code == 200
    client.force_login(user("staff", staff=True))
    for url in (
        "/support/",
        "/support/record/",
        "/support/pledges/",
        "/support/import/",
        "/support/pledges/list.csv",
        "/support/pledges/region.xlsx",
        "/support/report/by_type.csv",
    ):
        assert client.get(url).status_code == 200, url


def test_brokered_deployment_changed_dates_and_unknown_type_update_the_same_activity(schools):
    payload = {
        "id": 9,
        "provider_urns": [schools.a.urn],
        "system_leader_name": "",
        "recipient_urn": schools.c.urn,
        "support_type": "lesson_observation",
        "start_date": D,
        "end_date": None,
        "days": 3,
        "outcome": None,
    }
    first = services.record_brokered_deployment(payload)
    assert first.support_type == "other"
    payload.update(start_date=dt.date(2017, 10, 2), support_type="cpd", end_date=dt.date(2018, 3, 1))
    second = services.record_brokered_deployment(payload)
    assert second.pk == first.pk and SupportActivity.objects.count() == 1
    second.refresh_from_db()
    assert (second.start_date, second.support_type, second.end_date) == (
        dt.date(2017, 10, 2),
        "cpd",
        dt.date(2018, 3, 1),
    )
