"""The app as `make run` starts it, for the journey tests: `schoolpartners serve` (gunicorn and a db_worker) in a
subprocess on a free loopback port, against a database built for the module (a SQLite file in a temporary
directory, or a PostgreSQL database of its own when DATABASE_URL is PostgreSQL), migrated with `schoolpartners
migrate` and seeded by `seed.py`; DEBUG off with a random SECRET_KEY; email through SMTP to a real aiosmtpd peer
on loopback; map tiles pointed at a port where nothing answers (so maps must work with no network)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from schoolpartners.tests.smtp import Inbox, free_port

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts" / "journeys"
UNREACHABLE_TILES = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"  # discard port: nothing answers


@dataclass
class App:
    url: str
    seed: dict[str, Any]
    smtp: Inbox
    env: dict[str, str]

    def manage(self, *args: str) -> str:
        """Run `schoolpartners ARGS` against the server's database, as an operator would."""
        out = subprocess.run(
            [sys.executable, "-m", "schoolpartners.cli", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        return out.stdout


def _postgres_database(url: str, name: str) -> tuple[str, Any]:
    """A fresh PostgreSQL database `name` on the server of `url`; returns its URL and a function dropping it."""
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))

    def run(sql: str) -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql)

    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    run(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}")), lambda: run(
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    )


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    end = time.monotonic() + 90
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited ({proc.returncode}): {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"the server did not answer at {url}: {log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    from aiosmtpd.controller import Controller

    tmp = tmp_path_factory.mktemp("journeys")
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    drop = None
    base_url = os.environ.get("DATABASE_URL", "")
    if base_url.startswith(("postgres://", "postgresql://")):
        db_name = f"{(urlsplit(base_url).path.lstrip('/') or 'schoolpartners')}_journeys"
        database_url, drop = _postgres_database(base_url, db_name)
    else:
        database_url = f"sqlite:///{tmp / 'journeys.sqlite3'}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CSRF_TRUSTED_ORIGINS": url,
        "SITE_URL": url,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(controller.port),
        "EMAIL_USE_TLS": "0",
        "EMAIL_USE_SSL": "0",
        "DEFAULT_FROM_EMAIL": "School Partners <noreply@schoolpartners.test>",
        "MAP_TILE_URL": UNREACHABLE_TILES,
        "PYTHONPATH": str(ROOT),
        "CACHE_KEY_PREFIX": f"journeys-{secrets.token_hex(4)}",  # a shared cache (REDIS_URL) is not mixed up
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("EMAIL_BACKEND", None)
    env.pop("EMAIL_FILE_PATH", None)
    seed_file = tmp / "seed.json"
    proc = None
    log = tmp / "server.log"
    try:
        for argv in (
            [sys.executable, "-m", "schoolpartners.cli", "migrate", "--noinput", "-v", "0"],
            # seeding sends no mail: the SMTP peer only sees what the journeys do
            [sys.executable, "-m", "schoolpartners.tests.journeys.seed", str(seed_file)],
        ):
            seed_env = {**env, "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
            done = subprocess.run(argv, env=seed_env, cwd=ROOT, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stderr[-3000:]
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "schoolpartners.cli", "serve", "--port", str(port), "--workers", "2"],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: gunicorn and the db_worker stop together
            )
        _wait_until_up(url, proc, log)
        yield App(url=url, seed=json.loads(seed_file.read_text()), smtp=inbox, env=env)
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        controller.stop()
        if drop is not None:
            drop()
