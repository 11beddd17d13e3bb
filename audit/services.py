"""`record()`: write one audit event inside the transaction of the change it records."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.db import connection

from audit import version
from audit.kinds import EventKind
from audit.models import AuditEvent
from schoolpartners import clientaddr
from schoolpartners.types import Actor


def _address() -> str | None:
    """The acting request's client address (schoolpartners.clientaddr), normalised; None outside a request."""
    raw = clientaddr.current()
    try:
        return str(ipaddress.ip_address(raw)) if raw else None
    except ValueError:
        return None


def in_transaction() -> bool:
    """True inside a `transaction.atomic` block opened by the code (not only by a test case's wrapper).

    Django's TestCase (and pytest-django's `db` fixture) wraps every test in atomic blocks flagged
    `_from_testcase`; those do not count, so tests catch a write that would run in autocommit in production.
    """
    if not connection.in_atomic_block:
        return False
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def record(
    kind: EventKind | str,
    *,
    actor: Actor | None = None,
    object_type: str = "",
    object_id: str | int = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit event of a registered `kind` (ValueError otherwise) in the caller's transaction.

    Refuses to run outside `transaction.atomic` (RuntimeError): the event must commit or roll back with the
    change it records. `actor` is the acting user, stored as a snapshot (id and username); anonymous users and
    system jobs (imports, recomputes) are stored as no actor. A kind that changes public data moves the
    page-cache data version on once the transaction commits.
    """
    event_kind = EventKind.parse(kind)
    if not in_transaction():
        raise RuntimeError(
            f"audit.record({event_kind.value!r}) must run inside transaction.atomic, together with the "
            "write it records"
        )
    user = actor if (actor is not None and getattr(actor, "is_authenticated", False)) else None
    event = AuditEvent.objects.create(
        actor_id=user.pk if user is not None else None,
        actor_username=user.get_username() if user is not None else "",
        action=event_kind.value,
        object_type=object_type,
        object_id=str(object_id),
        data=data or {},
        client_address=_address(),
    )
    if event_kind.public:
        version.bump_on_commit()
    return event
