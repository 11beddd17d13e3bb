"""The Django admin: an admin creates users; schools and partnerships are browsable but not added or deleted."""

from __future__ import annotations

import pytest

from accounts.tests.factories import UserFactory
from schools.tests.factories import MembershipFactory, SchoolFactory, empty_database  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]


@pytest.fixture
def admin_client(client):
    UserFactory(username="admin", email="admin@example.org", password="pw-admin-123", superuser=True)
    client.login(username="admin", password="pw-admin-123")
    return client


def test_admin_can_create_a_staff_user(admin_client, django_user_model):
    response = admin_client.post(
        "/admin/auth/user/add/",
        {
            "username": "newstaff",
            "password1": "a-long-Passw0rd!",
            "password2": "a-long-Passw0rd!",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert django_user_model.objects.filter(username="newstaff").exists()


def test_schools_and_partnerships_are_read_mostly(admin_client):
    school = SchoolFactory(urn=150001, name="Admin Test School")
    membership = MembershipFactory(school=school)
    assert "Admin Test School" in admin_client.get("/admin/schools/school/?q=Admin").content.decode()
    assert admin_client.get("/admin/schools/school/150001/change/").status_code == 200
    assert admin_client.get("/admin/schools/school/add/").status_code == 403
    assert admin_client.get("/admin/schools/school/150001/delete/").status_code == 403
    assert (
        admin_client.get(f"/admin/partnerships/partnership/{membership.partnership_id}/change/").status_code
        == 200
    )
    assert admin_client.get("/admin/partnerships/partnership/add/").status_code == 403


def test_admin_requires_staff(client):
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
