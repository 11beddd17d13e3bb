"""Shared cache and HTTP caching (issue 13): anonymous public pages carry ETag / Last-Modified from the data
version and `Cache-Control: public, max-age`; conditional GETs answer 304; a public write changes the validators;
signed-in pages are private. Run on LocMem and on the real Redis (own key prefix per test, never mocked), and
cached_db sessions on Redis."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.sessions.backends.cached_db import KEY_PREFIX as SESSION_PREFIX
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.test import Client
from django.utils import timezone
from django.utils.http import http_date

from accounts.tests.factories import UserFactory
from audit.models import DataVersion
from audit.version import bump
from schoolpartners.tests.redis_support import redis_caches, require_redis

pytestmark = pytest.mark.django_db


def changed_at() -> dt.datetime:
    value = DataVersion.objects.get().changed_at
    assert value is not None
    return value


def new_user(**kw: Any) -> Any:
    return UserFactory(**kw)


URL = "/schools/"


@pytest.fixture(params=["locmem", "redis"])
def cache_backend(request: pytest.FixtureRequest, settings: Any) -> Iterator[str]:
    if request.param == "redis":
        require_redis()
        settings.CACHES = redis_caches()
        caches["default"].clear()  # only this test's prefix... clear() flushes the db: the suite owns it
    yield request.param
    if request.param == "redis":
        caches["default"].clear()


def test_anonymous_pages_send_validators_and_public_cache_control(client: Client, cache_backend: str) -> None:
    bump()
    first = client.get(URL)
    assert first.status_code == 200 and first["X-Page-Cache"] == "miss"
    assert first["ETag"].startswith('"') and len(first["ETag"]) == 34
    changed = changed_at()
    assert first["Last-Modified"] == http_date(changed.timestamp())
    cc = {p.strip() for p in first["Cache-Control"].split(",")}
    assert cc == {"public", "max-age=60"}
    assert "Cookie" in first["Vary"]
    again = client.get(URL)
    assert again["X-Page-Cache"] == "hit" and again["ETag"] == first["ETag"]
    assert (
        again["Cache-Control"] == first["Cache-Control"] and again["Last-Modified"] == first["Last-Modified"]
    )


def test_if_none_match_answers_304_until_the_data_changes(client: Client, cache_backend: str) -> None:
    etag = client.get(URL)["ETag"]
    r = client.get(URL, HTTP_IF_NONE_MATCH=etag)
    assert r.status_code == 304 and r.content == b""
    assert r["ETag"] == etag and "public" in r["Cache-Control"]
    assert client.get(URL, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200
    assert client.get(URL + "?page=2", HTTP_IF_NONE_MATCH=etag).status_code == 200  # another URL, another tag
    bump()  # a public write: new version, new tag
    r = client.get(URL, HTTP_IF_NONE_MATCH=etag)
    assert r.status_code == 200 and r["ETag"] != etag and r["X-Page-Cache"] == "miss"


def test_if_modified_since_answers_304_until_a_later_public_write(client: Client, cache_backend: str) -> None:
    bump()
    last_modified = client.get(URL)["Last-Modified"]
    r = client.get(URL, HTTP_IF_MODIFIED_SINCE=last_modified)
    assert r.status_code == 304 and r.content == b""
    earlier = http_date((changed_at() - dt.timedelta(hours=1)).timestamp())
    assert client.get(URL, HTTP_IF_MODIFIED_SINCE=earlier).status_code == 200
    bump()
    DataVersion.objects.update(changed_at=timezone.now() + dt.timedelta(seconds=5))  # a write seconds later
    r = client.get(URL, HTTP_IF_MODIFIED_SINCE=last_modified)
    assert r.status_code == 200 and r["Last-Modified"] != last_modified


def test_signed_in_pages_are_private_and_never_304(client: Client, cache_backend: str) -> None:
    etag = client.get(URL)["ETag"]
    client.force_login(new_user())
    r = client.get(URL, HTTP_IF_NONE_MATCH=etag)
    assert r.status_code == 200 and "ETag" not in r and "X-Page-Cache" not in r
    cc = {p.strip() for p in r["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= cc and "public" not in cc


def test_sessions_are_cached_in_redis_and_written_to_the_database(client: Client, settings: Any) -> None:
    require_redis()
    settings.CACHES = redis_caches()
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    user = new_user(username="anna")
    user.set_password("a-long-password-9")
    user.save()
    r = client.post("/accounts/login/", {"username": "anna", "password": "a-long-password-9"})
    assert r.status_code == 302
    key = client.cookies["sessionid"].value
    cached = caches["default"].get(SESSION_PREFIX + key)
    assert cached is not None and cached["_auth_user_id"] == str(user.pk)
    assert Session.objects.filter(session_key=key).exists()
    # A cache flush (a Redis restart) keeps people signed in: the database has the session.
    caches["default"].clear()
    assert client.get("/notifications/").status_code == 200  # still signed in (302 to sign-in otherwise)
    r = client.get(URL)
    assert "private" in r["Cache-Control"]
    assert caches["default"].get(SESSION_PREFIX + key) is not None  # read back into the cache
    caches["default"].clear()


def test_settings_choose_redis_from_the_environment() -> None:
    import os
    import subprocess
    import sys

    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='schoolpartners.settings'; django.setup();"
        "from django.conf import settings as s;"
        "print(s.CACHES['default']['BACKEND'], s.CACHES['default'].get('LOCATION'), s.SESSION_ENGINE)"
    )
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:6379/5"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [
        "django.core.cache.backends.redis.RedisCache",
        "redis://127.0.0.1:6379/5",
        "django.contrib.sessions.backends.cached_db",
    ]
    env.pop("REDIS_URL")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split()[0] == "django.core.cache.backends.locmem.LocMemCache"
    assert out.stdout.split()[-1] == "django.contrib.sessions.backends.db"
