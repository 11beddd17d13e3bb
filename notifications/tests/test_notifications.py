"""Notifications: sending (one per distinct user), counting, listing, marking read (audited), the page and its
export, and the move of the model from partnerships without touching the table or its rows."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from audit.models import AuditEvent
from notifications import queries, services
from notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def users(django_user_model: Any) -> tuple[Any, Any]:
    make = django_user_model.objects.create_user
    return make("ann", password="pw-ann-12345"), make("bob", password="pw-bob-12345")


def test_notify_sends_once_per_distinct_user_and_truncates(users):
    ann, bob = users
    assert services.notify([ann, bob, ann], "x" * 600, "/y" * 200) == 2
    n = Notification.objects.get(user=ann)
    assert len(n.text) == 500 and len(n.url) == 300 and n.read_at is None
    assert services.notify([], "nobody") == 0


def test_unread_count_and_list_are_the_users_own_newest_first(users):
    ann, bob = users
    services.notify([ann], "first")
    services.notify([ann, bob], "second")
    assert queries.unread_count(ann) == 2 and queries.unread_count(bob) == 1
    assert [n.text for n in queries.notifications_for(ann)] == ["second", "first"]
    assert queries.unread_count(AnonymousUser()) == 0 and queries.unread_count(None) == 0
    assert not queries.notifications_for(AnonymousUser()).exists()


def test_mark_all_read_marks_only_the_users_own_and_is_audited(users):
    ann, bob = users
    services.notify([ann, bob], "hello")
    assert services.mark_all_read(ann) == 1
    assert queries.unread_count(ann) == 0 and queries.unread_count(bob) == 1
    event = AuditEvent.objects.get(action="notifications.read")
    assert event.object_id == str(ann.pk) and event.data == {"count": 1}
    with pytest.raises(PermissionDenied):
        services.mark_all_read(AnonymousUser())


def test_page_shows_count_marks_read_on_post_and_exports(client, users):
    ann, _ = users
    services.notify([ann], "Your request was approved", "/partnerships/requests/1/")
    assert client.get("/notifications/").status_code == 302  # signed-in only
    client.force_login(ann)
    page = client.get("/notifications/").content.decode()
    assert "Your request was approved" in page and 'id="notification-count"' in page
    assert "/notifications.csv" in page and "/notifications.xlsx" in page
    csv = b"".join(client.get("/notifications.csv").streaming_content).decode()
    assert "Your request was approved" in csv
    assert queries.unread_count(ann) == 1  # exporting marks nothing read
    assert client.post("/notifications/").status_code == 302
    assert 'id="notification-count"' not in client.get("/notifications/").content.decode()


def test_the_model_keeps_the_partnerships_table():
    assert Notification._meta.db_table == "partnerships_notification"
    assert Notification._meta.app_label == "notifications"


@pytest.mark.django_db(transaction=True)
def test_moving_the_model_keeps_existing_rows(django_user_model):
    """Rows written while the model lived in partnerships are read through the notifications app after migrate;
    the migrations in both apps change only Django's state."""
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    before = [("partnerships", "0002_partnerships_register"), ("notifications", None)]
    try:
        executor.migrate(before)
        old_apps = executor.loader.project_state(before[:1]).apps
        user = django_user_model.objects.create_user("old", password="pw-old-12345")
        OldNotification = old_apps.get_model("partnerships", "Notification")
        OldNotification.objects.create(user_id=user.pk, text="written before the move", url="/x/")
        executor = MigrationExecutor(connection)
        executor.migrate(leaves)
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert [n.text for n in Notification.objects.filter(user=user)] == ["written before the move"]
