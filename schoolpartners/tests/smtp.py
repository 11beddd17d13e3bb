"""A real SMTP peer for tests: an aiosmtpd handler keeping every message it receives (never a mocked mail server)."""

from __future__ import annotations

import email
import socket
import threading
import time
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any


class Inbox:
    """An aiosmtpd handler keeping every message it receives, with its SMTP envelope recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd API
        msg = email.message_from_bytes(envelope.content, policy=default_policy)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for rcpts, m in self.messages if address in rcpts]

    def wait_for(self, address: str, n: int, timeout: float = 20.0) -> list[EmailMessage]:
        """At least `n` messages to `address` (emails are sent after commit, some by the db_worker)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            got = self.to(address)
            if len(got) >= n:
                return got
            time.sleep(0.1)
        raise AssertionError(f"{address} got {len(self.to(address))} emails, expected {n}")


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
