"""Safe to deploy: no start without SECRET_KEY, `check --deploy` clean under the documented production
environment (docs/deploy.md), security headers (CSP without inline script, Permissions-Policy, HSTS behind the
proxy), `Cache-Control: private` for signed-in users, and /api/docs served from our own static files."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.test import override_settings

from accounts.tests.factories import UserFactory
from schoolpartners.tests.smtp import free_port

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


SETUP = (
    "import django, hashlib; django.setup(); from django.conf import settings; "
    "print('debug', settings.DEBUG); print('key', hashlib.sha256(settings.SECRET_KEY.encode()).hexdigest())"
)


def key_line(key: str) -> str:
    return "key " + hashlib.sha256(key.encode()).hexdigest()


def test_without_secret_key_one_is_generated_once_into_a_private_file(tmp_path):
    key_file = tmp_path / "state" / "secret_key"
    env = child_env(SECRET_KEY_FILE=str(key_file))
    first = run_python(SETUP, env)
    assert first.returncode == 0, first.stderr
    assert "debug False" in first.stdout  # DEBUG is off by default
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 50
    assert key_line(key) in first.stdout
    second = run_python(SETUP, env)  # another process (a worker, the CLI) reads the same key
    assert key_line(key) in second.stdout
    assert key_file.read_text().strip() == key


def test_concurrent_first_starts_agree_on_one_key(tmp_path):
    key_file = tmp_path / "secret_key"
    env = child_env(SECRET_KEY_FILE=str(key_file))
    procs = [
        subprocess.Popen([sys.executable, "-c", SETUP], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert {line for out in outs for line in out.splitlines() if line.startswith("key ")} == {
        key_line(key_file.read_text().strip())
    }


def test_a_key_file_readable_by_others_is_refused(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(secrets.token_urlsafe(50))
    key_file.chmod(0o644)
    result = run_python(SETUP, child_env(SECRET_KEY_FILE=str(key_file)))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "chmod 600" in result.stderr
    assert "key " not in result.stdout


def test_secret_key_from_the_environment_wins(tmp_path):
    key = secrets.token_urlsafe(50)
    result = run_python(SETUP, child_env(DEBUG="0", SECRET_KEY=key, SECRET_KEY_FILE=str(tmp_path / "k")))
    assert result.returncode == 0, result.stderr
    assert key_line(key) in result.stdout
    assert not (tmp_path / "k").exists()


def test_the_default_key_file_is_git_ignored():
    ignored = subprocess.run(["git", "check-ignore", "-q", ".secret_key"], cwd=ROOT)
    assert ignored.returncode == 0


def test_fresh_clone_cli_needs_no_environment():
    """`.venv/bin/schoolpartners check --deploy` as the README shows it, with no environment at all (no DEBUG, no
    SECRET_KEY): it starts, DEBUG is off, and the only findings are the HTTPS-only ones."""
    cli = Path(sys.executable).with_name("schoolpartners")
    assert cli.exists(), "the console script is installed by `pip install -e .` (make venv)"
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    result = subprocess.run(
        [str(cli), "check", "--deploy"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert set(re.findall(r"\((\w+\.[EW]\d+)\)", out)) == {
        "security.W004",  # HSTS
        "security.W008",  # SSL redirect
        "security.W012",  # secure session cookie
        "security.W016",  # secure CSRF cookie
    }
    assert (ROOT / ".secret_key").exists()
    assert stat.S_IMODE((ROOT / ".secret_key").stat().st_mode) == 0o600
    debug = subprocess.run(
        [str(cli), "shell", "-c", "from django.conf import settings; print('debug', settings.DEBUG)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert debug.returncode == 0, debug.stderr
    assert debug.stdout.strip().splitlines()[-1] == "debug False"


def test_make_run_does_not_turn_debug_on():
    makefile = (ROOT / "Makefile").read_text()
    assert not re.search(r"^\s*(export\s+)?DEBUG\s*[?:]?=", makefile, re.MULTILINE)


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


def test_served_404_is_the_styled_page_not_the_debug_page(tmp_path):
    """`schoolpartners serve` as `make run` starts it, with no DEBUG and no SECRET_KEY in its environment: an
    unknown address gets the GOV.UK "Page not found" page, never Django's debug page with the URL configuration."""
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "SECRET_KEY_FILE": str(tmp_path / "secret_key"),
    }
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "schoolpartners.cli",
            "serve",
            "--no-worker",
            "--workers",
            "1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        status, body = 0, ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page/", timeout=5)
            except urllib.error.HTTPError as exc:
                status, body = exc.code, exc.read().decode()
                break
            except OSError:
                time.sleep(0.3)
        assert status == 404, (tmp_path / "server.log").read_text()[-2000:]
        assert "Page not found" in body and "govuk-" in body
        assert "URLconf" not in body and "DEBUG = True" not in body and "Traceback" not in body
        assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
