"""One client address (issue 18, rows 1 and 2): the TCP peer by default; behind TRUSTED_PROXY_COUNT proxies the
entry the outermost trusted proxy appended to X-Forwarded-For, whatever a client wrote to the left of it. Axes,
the sign-in throttle, the API throttle and the audit log all use it."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import RequestFactory, override_settings

from audit.models import AuditEvent
from schoolpartners.apikit import WriteThrottle
from schoolpartners.clientaddr import client_address

rf = RequestFactory()


def req(peer: str, forwarded: str | None = None):
    request = rf.get("/", REMOTE_ADDR=peer)
    if forwarded is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    return request


def test_no_trusted_proxy_by_default_the_peer_is_the_client():
    assert settings.TRUSTED_PROXY_COUNT == 0
    assert client_address(req("203.0.113.5", "198.51.100.7")) == "203.0.113.5"  # the header is ignored


@override_settings(TRUSTED_PROXY_COUNT=1)
@pytest.mark.parametrize(
    "forwarded, expected",
    [
        ("203.0.113.5", "203.0.113.5"),  # a client that sent no header
        ("198.51.100.7, 203.0.113.5", "203.0.113.5"),  # a forged left part is never read
        ("1.1.1.1, 2.2.2.2, 3.3.3.3, 203.0.113.5", "203.0.113.5"),
        ("not-an-address, 203.0.113.5", "203.0.113.5"),
        ("10.1.2.3", "10.1.2.3"),  # a private client address is still the client's
        ("2001:db8::1", "2001:db8::1"),
    ],
)
def test_behind_one_proxy_the_address_it_appended(forwarded, expected):
    assert client_address(req("127.0.0.1", forwarded)) == expected


@override_settings(TRUSTED_PROXY_COUNT=2)
def test_behind_two_proxies_the_second_entry_from_the_right():
    # client C -> proxy P1 (appends C) -> proxy P2 (appends P1) -> app (peer P2)
    assert client_address(req("10.0.0.2", "6.6.6.6, 203.0.113.5, 10.0.0.1")) == "203.0.113.5"
    # a request that did not pass both proxies is counted under its peer
    assert client_address(req("10.0.0.2", "")) == "10.0.0.2"


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_the_api_throttle_counts_the_same_address():
    throttle = WriteThrottle()
    assert throttle.get_ident(req("127.0.0.1", "9.9.9.9, 203.0.113.5")) == "203.0.113.5"
    assert throttle.get_ident(req("127.0.0.1", "8.8.8.8, 203.0.113.5")) == "203.0.113.5"


@pytest.mark.django_db
@override_settings(TRUSTED_PROXY_COUNT=1)
def test_the_audit_log_records_the_client_address(client):
    from accounts.tests.factories import UserFactory
    from notifications.models import Frequency

    client.force_login(UserFactory())
    before = AuditEvent.objects.count()
    response = client.post(
        "/account/notifications/",
        {"frequency": Frequency.DAILY.value},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.5",
    )
    assert response.status_code == 302
    assert AuditEvent.objects.count() == before + 1
    assert AuditEvent.objects.order_by("-id").first().client_address == "203.0.113.5"


@pytest.mark.django_db
def test_commands_and_jobs_record_no_address():
    from django.db import transaction

    from audit.services import record

    with transaction.atomic():
        event = record("notifications.read", data={"count": 0})
    assert event.client_address is None
