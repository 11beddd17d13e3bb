"""Sign-in lockout (django-axes, database handler) and the per-address sign-in throttle.

Issue 10: "30 wrong passwords in a row all accepted and the right one still works". Now AXES_FAILURE_LIMIT
failures lock the username (from that address) for the cool-off, the right password is refused with a clear
message, another user is not locked, and after the cool-off the right password works again.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from accounts.tests.factories import UserFactory

PASSWORD = "Right-horse-battery-9"
URL = "/accounts/login/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return UserFactory(username="alice", password=PASSWORD)


@pytest.fixture
def bob():
    return UserFactory(username="bob", password=PASSWORD)


def sign_in(client, username: str, password: str, **extra):
    return client.post(URL, {"username": username, "password": password}, **extra)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_right_password_signs_in(client, alice):
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 302 and signed_in(client)


@override_settings(AXES_FAILURE_LIMIT=5)
@pytest.mark.parametrize("wrong", [5, 10])
def test_after_repeated_failures_even_the_right_password_is_refused(client, alice, wrong):
    for i in range(wrong):
        response = sign_in(client, "alice", f"wrong-{i}")
        if i < 4:
            assert response.status_code == 200
            assert "Enter a correct username and password" in response.content.decode()
        else:
            assert response.status_code == 429  # the 5th failure locks
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Sign-in locked" in page
    assert "too many failed attempts to sign in as <strong>alice</strong>" in page
    assert "locked for 15 minutes" in page
    assert response["Retry-After"] == "900"
    assert not signed_in(client)


@override_settings(AXES_FAILURE_LIMIT=5)
def test_a_locked_out_sign_in_hashes_no_password(client, alice, monkeypatch):
    for i in range(5):
        sign_in(client, "alice", f"wrong-{i}")
    calls = []
    user_model = get_user_model()
    original = user_model.check_password
    monkeypatch.setattr(
        user_model, "check_password", lambda self, raw: calls.append(raw) or original(self, raw)
    )
    assert sign_in(client, "alice", PASSWORD).status_code == 429
    assert calls == []


@override_settings(AXES_FAILURE_LIMIT=5)
def test_another_user_is_not_locked(client, alice, bob):
    for i in range(6):
        sign_in(client, "alice", f"wrong-{i}")
    assert sign_in(client, "alice", PASSWORD).status_code == 429
    response = sign_in(client, "bob", PASSWORD)
    assert response.status_code == 302 and signed_in(client)


@override_settings(AXES_FAILURE_LIMIT=5, AXES_COOLOFF_TIME=dt.timedelta(minutes=15))
def test_after_the_cool_off_the_right_password_works(client, alice):
    for i in range(5):
        sign_in(client, "alice", f"wrong-{i}")
    assert sign_in(client, "alice", PASSWORD).status_code == 429
    # travel past the cool-off: the recorded failures are now older than 15 minutes
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 302 and signed_in(client)
    assert AccessAttempt.objects.count() == 0  # a success resets the count


@override_settings(AXES_FAILURE_LIMIT=5)
def test_reset_by_an_administrator_unlocks(client, alice):
    from axes.utils import reset

    for i in range(5):
        sign_in(client, "alice", f"wrong-{i}")
    assert sign_in(client, "alice", PASSWORD).status_code == 429
    reset(username="alice")
    assert sign_in(client, "alice", PASSWORD).status_code == 302


@override_settings(AXES_FAILURE_LIMIT=5)
def test_failures_below_the_limit_are_forgotten_after_a_success(client, alice):
    for i in range(4):
        sign_in(client, "alice", f"wrong-{i}")
    assert sign_in(client, "alice", PASSWORD).status_code == 302
    client.logout()
    for i in range(4):
        assert sign_in(client, "alice", f"wrong-again-{i}").status_code == 200
    assert sign_in(client, "alice", PASSWORD).status_code == 302


@override_settings(AXES_FAILURE_LIMIT=5)
def test_the_admin_sign_in_is_locked_too(client, alice):
    alice.is_staff = True
    alice.save()
    for i in range(5):
        client.post("/admin/login/", {"username": "alice", "password": f"wrong-{i}"})
    response = client.post("/admin/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429


# --- throttle ---------------------------------------------------------------------------------------------------


@override_settings(LOGIN_THROTTLE="8/min", AXES_FAILURE_LIMIT=100)
def test_many_attempts_from_one_address_are_throttled_before_hashing(client, alice, bob, monkeypatch):
    user_model = get_user_model()
    calls = []
    original = user_model.check_password
    monkeypatch.setattr(
        user_model, "check_password", lambda self, raw: calls.append(raw) or original(self, raw)
    )
    statuses = [sign_in(client, ("alice", "bob")[i % 2], f"wrong-{i}").status_code for i in range(12)]
    assert statuses[:8] == [200] * 8
    assert statuses[8:] == [429] * 4
    assert len(calls) == 8  # the refused attempts hashed nothing
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    # another address is not throttled
    assert sign_in(client, "bob", PASSWORD, REMOTE_ADDR="10.0.0.9").status_code == 302


@override_settings(LOGIN_THROTTLE="")
def test_throttle_can_be_disabled(client, alice):
    for i in range(25):
        sign_in(client, "nobody", f"wrong-{i}")
    assert sign_in(client, "alice", PASSWORD).status_code == 302


def test_signing_in_page_still_renders(client):
    assert client.get(URL).status_code == 200


# --- behind a proxy (issue 18, rows 1 and 2): one client address, a forged X-Forwarded-For changes nothing ------
PROXY = "127.0.0.1"  # the reverse proxy's own address: every request's TCP peer
ATTACKER, VICTIM = "203.0.113.5", "198.51.100.7"


def via_proxy(client_address: str, forged: str = "") -> dict[str, str]:
    """What the app receives through one proxy that appends the address it saw to X-Forwarded-For."""
    return {
        "REMOTE_ADDR": PROXY,
        "HTTP_X_FORWARDED_FOR": f"{forged}, {client_address}" if forged else client_address,
    }


@override_settings(
    TRUSTED_PROXY_COUNT=1, LOGIN_THROTTLE="20/min", AXES_FAILURE_LIMIT=100, LOGIN_USERNAME_SOFT_LIMIT=0
)
def test_rotating_a_forged_forwarded_for_does_not_escape_the_throttle(client, alice):
    statuses = [
        sign_in(client, f"nobody{i}", "wrong", **via_proxy(ATTACKER, forged=f"10.9.{i}.1")).status_code
        for i in range(30)
    ]
    assert statuses == [200] * 20 + [429] * 10
    # another client behind the same proxy is not throttled by it
    assert sign_in(client, "alice", PASSWORD, **via_proxy(VICTIM)).status_code == 302


@override_settings(TRUSTED_PROXY_COUNT=1, AXES_FAILURE_LIMIT=5, LOGIN_USERNAME_SOFT_LIMIT=0)
def test_an_attacker_cannot_lock_out_a_user_at_another_address(client, alice):
    for i in range(8):  # claiming to be the victim's address changes nothing
        sign_in(client, "alice", f"wrong-{i}", **via_proxy(ATTACKER, forged=VICTIM))
    assert sign_in(client, "alice", PASSWORD, **via_proxy(ATTACKER)).status_code == 429  # the pair is locked
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}
    response = sign_in(client, "alice", PASSWORD, **via_proxy(VICTIM))
    assert response.status_code == 302 and signed_in(client)


@override_settings(AXES_FAILURE_LIMIT=5, LOGIN_USERNAME_SOFT_LIMIT=0)
def test_without_a_proxy_a_forwarded_for_header_is_ignored(client, alice):
    for i in range(5):
        sign_in(client, "alice", f"wrong-{i}", REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}
    assert sign_in(client, "alice", PASSWORD, REMOTE_ADDR=VICTIM).status_code == 302


# --- the soft per-username delay (OWASP: slow a spread-out guessing attack down, never lock the account) --------
@override_settings(
    LOGIN_THROTTLE="",
    AXES_FAILURE_LIMIT=100,
    LOGIN_USERNAME_SOFT_LIMIT=3,
    LOGIN_USERNAME_MAX_DELAY=30,
)
def test_failures_from_many_addresses_slow_that_username_down(client, alice, bob, monkeypatch):
    user_model = get_user_model()
    calls: list[str] = []
    original = user_model.check_password
    monkeypatch.setattr(
        user_model, "check_password", lambda self, raw: calls.append(raw) or original(self, raw)
    )
    for i in range(3):
        assert sign_in(client, "alice", f"wrong-{i}", REMOTE_ADDR=f"192.0.2.{i}").status_code == 200
    hashed = len(calls)
    response = sign_in(client, "alice", "wrong-3", REMOTE_ADDR="192.0.2.99")
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert "The account is not locked" in response.content.decode()
    assert len(calls) == hashed  # refused before any password was hashed
    # not a lockout: the same attempt after the delay goes ahead; other usernames never waited
    assert sign_in(client, "bob", PASSWORD, REMOTE_ADDR="192.0.2.99").status_code == 302


@override_settings(LOGIN_THROTTLE="", AXES_FAILURE_LIMIT=100, LOGIN_USERNAME_SOFT_LIMIT=3)
def test_the_delay_ends_and_a_success_forgets_the_failures(client, alice):
    from accounts import throttle

    for i in range(3):
        sign_in(client, "alice", f"wrong-{i}", REMOTE_ADDR=f"192.0.2.{i}")
    assert throttle.wait_for("alice") >= 1
    assert throttle.wait_for("alice", now=time.time() + 2) == 0  # after 2**0 = 1 s it may go ahead
    count, last = throttle._failures("alice")
    cache.set(throttle._user_key("alice"), (count, last - 5), 900)  # as if the delay had passed
    assert sign_in(client, "alice", PASSWORD, REMOTE_ADDR=VICTIM).status_code == 302
    assert throttle.wait_for("alice") == 0 and throttle._failures("alice") == (0, 0.0)


@override_settings(LOGIN_THROTTLE="", AXES_FAILURE_LIMIT=100, LOGIN_USERNAME_SOFT_LIMIT=3)
def test_a_browser_that_signed_in_before_does_not_wait(client, alice):
    from django.test import Client

    assert sign_in(client, "alice", PASSWORD, REMOTE_ADDR=VICTIM).status_code == 302
    assert throttle_cookie in client.cookies
    client.post("/accounts/logout/")
    attacker = Client()
    for i in range(5):
        attacker.post(URL, {"username": "alice", "password": f"wrong-{i}"}, REMOTE_ADDR=f"192.0.2.{i}")
    assert attacker.post(URL, {"username": "alice", "password": PASSWORD}).status_code == 429
    response = sign_in(client, "alice", PASSWORD, REMOTE_ADDR=VICTIM)
    assert response.status_code == 302 and signed_in(client)


throttle_cookie = "sp_device"


@pytest.mark.parametrize("path", [URL, "/admin/login/"])
@pytest.mark.parametrize("length", [151, 256, 5000])
def test_an_overlong_username_is_a_clear_error_not_a_crash(client, path, length):
    """Issue 18 row 8: a 256-character username was a 500 on PostgreSQL (axes' varchar(255))."""
    response = client.post(path, {"username": "a" * length, "password": "whatever"})
    assert response.status_code == 400
    assert "Enter a username of at most 150 characters" in response.content.decode()
    assert AccessAttempt.objects.count() == 0


def test_an_overlong_password_is_refused_before_hashing(client, alice):
    response = sign_in(client, "alice", "x" * 1025)
    assert response.status_code == 400 and "at most 1024 characters" in response.content.decode()
    assert sign_in(client, "alice", PASSWORD).status_code == 302
