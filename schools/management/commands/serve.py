"""`schoolpartners serve`: run the site under gunicorn (the production server, not runserver).

The command replaces itself with gunicorn (os.execvp), so the process id stays the same and signals
(Ctrl-C, SIGTERM from a supervisor) go straight to the gunicorn arbiter, which shuts its workers down cleanly.
Static files are served by WhiteNoise inside the app.

Unless `--no-worker` (or SERVE_WORKER=0), one background-job worker (`schoolpartners db_worker`, ADR 0009) is
started first as a child process; it is asked to stop (SIGTERM) when the server's process ends (Linux
PR_SET_PDEATHSIG; Ctrl-C reaches both anyway). In production run workers under their own supervisor instead.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

WSGI_APP = "schoolpartners.wsgi:application"


def default_workers() -> int:
    return 2 * (os.cpu_count() or 1) + 1


def gunicorn_argv(
    host: str,
    port: int,
    workers: int,
    threads: int,
    access_log: bool,
    timeout: int,
    max_requests: int,
) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        WSGI_APP,
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        str(timeout),
        "--graceful-timeout",
        "20",
        "--error-logfile",
        "-",
        "--log-level",
        "info",
    ]
    if threads > 1:
        argv += ["--worker-class", "gthread"]
    if access_log:
        argv += ["--access-logfile", "-"]
    if max_requests:
        argv += [
            "--max-requests",
            str(max_requests),
            "--max-requests-jitter",
            str(max(1, max_requests // 10)),
        ]
    return argv


def worker_argv() -> list[str]:
    # never the autoreloader, even under DEBUG=1: a reload would stop a running task uncleanly
    return [sys.executable, "-m", "schoolpartners.cli", "db_worker", "--interval", "1", "--no-reload"]


def _stop_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def start_worker() -> subprocess.Popen[bytes]:
    return subprocess.Popen(worker_argv(), preexec_fn=_stop_with_parent if sys.platform == "linux" else None)


class Command(BaseCommand):
    help = "Serve School Partners with gunicorn on 127.0.0.1:$PORT (default 8000)."
    requires_system_checks: list[str] = []  # gunicorn's workers load the app and run the checks they need

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default=os.environ.get("HOST", "127.0.0.1"), help="bind address (default 127.0.0.1)"
        )
        parser.add_argument(
            "--port", type=int, default=int(os.environ.get("PORT", "8000")), help="default $PORT or 8000"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("WEB_WORKERS", "0")) or default_workers(),
            help="worker processes (default 2 x cores + 1, or $WEB_WORKERS)",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=int(os.environ.get("WEB_THREADS", "1")),
            help="threads per worker (default 1; >1 uses the gthread worker)",
        )
        parser.add_argument(
            "--access-log", action="store_true", help="write an access log line per request to stdout"
        )
        parser.add_argument(
            "--timeout", type=int, default=30, help="seconds before a silent worker is restarted"
        )
        parser.add_argument(
            "--max-requests", type=int, default=0, help="recycle a worker after this many requests (0: never)"
        )
        parser.add_argument(
            "--no-worker",
            dest="worker",
            action="store_false",
            default=os.environ.get("SERVE_WORKER", "1") != "0",
            help="do not start a background-job worker beside gunicorn (or SERVE_WORKER=0)",
        )
        parser.add_argument("--dry-run", action="store_true", help="print the gunicorn command line and exit")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not 0 < opts["port"] < 65536:
            raise CommandError(f"invalid port {opts['port']}")
        if opts["workers"] < 1 or opts["threads"] < 1:
            raise CommandError("--workers and --threads must be at least 1")
        argv = gunicorn_argv(
            host=opts["host"],
            port=opts["port"],
            workers=opts["workers"],
            threads=opts["threads"],
            access_log=opts["access_log"],
            timeout=opts["timeout"],
            max_requests=opts["max_requests"],
        )
        if opts["dry_run"]:
            self.stdout.write(" ".join(argv))
            if opts["worker"]:
                self.stdout.write(" ".join(worker_argv()))
            return
        if opts["worker"]:
            worker = start_worker()
            self.stderr.write(f"Background-job worker started (pid {worker.pid}): schoolpartners db_worker")
        self.stderr.write(
            f"Serving School Partners on http://{opts['host']}:{opts['port']}/ ({opts['workers']} workers)"
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolpartners.settings")
        os.execvp(argv[0], argv)
