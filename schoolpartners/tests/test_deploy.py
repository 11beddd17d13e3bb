"""Safe to deploy: no start without SECRET_KEY, `check --deploy` clean under the documented production
environment (docs/deploy.md), security headers (CSP without inline script, Permissions-Policy, HSTS behind the
proxy), `Cache-Control: private` for signed-in users, and /api/docs served from our own static files."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from accounts.tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]

# The production environment documented in docs/deploy.md (values for a test; SECRET_KEY is generated).
PRODUCTION_ENV = {
    "DEBUG": "0",
    "ALLOWED_HOSTS": "schoolpartners.example",
    "CSRF_TRUSTED_ORIGINS": "https://schoolpartners.example",
    "HTTPS": "1",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "DATABASE_URL": "sqlite:///" + str(ROOT / "db.sqlite3"),
}


def child_env(**extra: str) -> dict[str, str]:
    keep = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECRET_KEY", "DEBUG", "HTTPS"))
    }
    keep["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    keep["DJANGO_SETTINGS_MODULE"] = "schoolpartners.settings"
    return {**keep, **extra}


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


SETUP = "import django; django.setup(); from django.conf import settings; print('key', settings.SECRET_KEY)"


def test_refuses_to_start_without_secret_key_when_debug_is_off():
    result = run_python(SETUP, child_env(DEBUG="0"))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY is not set" in result.stderr
    assert "key " not in result.stdout


def test_debug_off_is_the_default():
    result = run_python(SETUP, child_env())  # neither DEBUG nor SECRET_KEY: production defaults, refused
    assert result.returncode != 0 and "SECRET_KEY is not set" in result.stderr


def test_starts_with_a_secret_key_and_uses_it():
    key = secrets.token_urlsafe(50)
    result = run_python(SETUP, child_env(DEBUG="0", SECRET_KEY=key))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"key {key}"


def test_development_key_only_with_debug_on():
    result = run_python(SETUP, child_env(DEBUG="1"))
    assert result.returncode == 0, result.stderr
    assert "dev-only" in result.stdout


def test_check_deploy_is_clean_under_the_documented_production_environment():
    env = child_env(**PRODUCTION_ENV, SECRET_KEY=secrets.token_urlsafe(50))
    result = subprocess.run(
        [sys.executable, "-m", "schoolpartners.cli", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "System check identified no issues" in out
    for code in ("W004", "W008", "W012", "W016"):
        assert code not in out


def test_check_deploy_warns_without_the_production_settings():
    """The clean check above is earned by the settings, not by silencing the checks."""
    env = child_env(
        DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50), DATABASE_URL=PRODUCTION_ENV["DATABASE_URL"]
    )
    result = subprocess.run(
        [sys.executable, "-m", "schoolpartners.cli", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = result.stdout + result.stderr
    for code in ("W004", "W008", "W012", "W016"):
        assert code in out


def test_production_settings_behind_the_proxy():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_PROXY_SSL_HEADER, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS)"
    )
    result = run_python(code, child_env(**PRODUCTION_ENV, SECRET_KEY=secrets.token_urlsafe(50)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
        "True",
        "True",
        "True",
        "31536000",
        "True",
    ]


@override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_hsts_is_sent_over_https_behind_the_proxy(client):
    response = client.get("/healthz", HTTP_X_FORWARDED_PROTO="https")
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in client.get("/healthz")  # plain HTTP: no HSTS


@override_settings(SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
@pytest.mark.django_db
def test_plain_http_is_redirected_but_probes_are_not(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 301 and response["Location"].startswith("https://")
    assert client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 200
    assert client.get("/healthz").status_code == 200


# --- headers ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_content_security_policy_allows_no_inline_script(client):
    csp = client.get("/accounts/login/")["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in (x.strip() for x in csp.split(";")) if d}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]


def test_no_template_has_inline_script_or_event_handlers():
    """CSP refuses inline script; behaviour lives in static JS files. JSON data blocks (json_script) are fine."""
    offenders = []
    for path in ROOT.glob("*/templates/**/*.html"):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"<script\b([^>]*)>", text):
            if "src=" not in m.group(1):
                offenders.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
        for m in re.finditer(r"""\son[a-z]+\s*=\s*["']""", text):
            offenders.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
        if re.search(r"""href\s*=\s*["']javascript:""", text):
            offenders.append(f"{path.relative_to(ROOT)}: javascript: URL")
    assert offenders == []


@pytest.mark.django_db
def test_permissions_policy_on_pages_and_api(client):
    for url in ("/accounts/login/", "/api/measures", "/healthz"):
        policy = client.get(url)["Permissions-Policy"]
        assert "camera=()" in policy and "geolocation=()" in policy and "microphone=()" in policy


@pytest.mark.django_db
def test_signed_in_responses_are_private_and_not_stored(client):
    client.force_login(UserFactory())
    for url in ("/accounts/logout/", "/api/measures"):
        cc = client.get(url)["Cache-Control"]
        assert "private" in cc and "no-store" in cc
        assert "public" not in cc and "max-age" not in cc


@pytest.mark.django_db
def test_anonymous_pages_keep_their_caching(client):
    for url in ("/schools/", "/api/measures"):
        response = client.get(url)
        assert response.status_code == 200
        assert "private" not in response.get("Cache-Control", "")
        assert "no-store" not in response.get("Cache-Control", "")
    assert client.get("/schools/")["X-Page-Cache"] == "hit"  # the whole-page cache still serves them


# --- /api/docs --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_docs_load_swagger_from_our_own_static_files(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "/static/vendor/swagger-ui/swagger-ui.css" in html
    assert "/static/js/swagger-init.js" in html
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", html)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    assert not re.search(r"https?://", html.replace('"url": "/api/openapi.json"', "")), "an external host"
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html), "inline script"
    assert (ROOT / "schoolpartners/static/vendor/swagger-ui/swagger-ui-bundle.js").exists()
