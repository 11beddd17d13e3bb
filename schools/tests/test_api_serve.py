"""`schoolpartners serve` builds a gunicorn command line; `/healthz` is a trivial public read."""

from __future__ import annotations

import os
import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from schools.management.commands.serve import WSGI_APP, default_workers, gunicorn_argv


def dry_run(*args: str) -> list[str]:
    out = StringIO()
    call_command("serve", "--dry-run", *args, stdout=out)
    return out.getvalue().split()


def test_serve_runs_gunicorn_on_loopback_with_default_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.delenv("WEB_WORKERS", raising=False)
    argv = dry_run()
    assert argv[:4] == [sys.executable, "-m", "gunicorn", WSGI_APP]
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:8000"
    assert argv[argv.index("--workers") + 1] == str(2 * (os.cpu_count() or 1) + 1) == str(default_workers())
    assert "--access-logfile" not in argv and "runserver" not in argv


def test_serve_options() -> None:
    argv = dry_run("--port", "8123", "--workers", "3", "--threads", "4", "--access-log")
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:8123"
    assert argv[argv.index("--workers") + 1] == "3"
    assert argv[argv.index("--threads") + 1] == "4"
    assert argv[argv.index("--worker-class") + 1] == "gthread"
    assert argv[argv.index("--access-logfile") + 1] == "-"


def test_serve_port_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "8765")
    # the default is read when the parser is built, i.e. on each call_command
    assert "127.0.0.1:8765" in dry_run()


def test_serve_rejects_bad_values() -> None:
    with pytest.raises(CommandError):
        dry_run("--port", "70000")
    with pytest.raises(CommandError):
        dry_run("--workers", "0")


def test_gunicorn_argv_single_thread_uses_sync_workers() -> None:
    argv = gunicorn_argv("127.0.0.1", 8000, 5, 1, False, 30, 0)
    assert "--worker-class" not in argv and "--max-requests" not in argv


def test_healthz_is_a_trivial_public_read(client: Client) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.content == b"ok\n"
    assert Client(enforce_csrf_checks=True).post("/healthz").status_code in (403, 405)
