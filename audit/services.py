from __future__ import annotations

from typing import Any

from audit.models import AuditEvent


def record(
    action: str,
    *,
    actor: Any = None,
    object_type: str = "",
    object_id: str | int = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit event. Call inside the same transaction as the change it records.

    `actor` is the acting user; anonymous users and system jobs (imports, recomputes) are stored as no actor.
    """
    user = actor if (actor is not None and getattr(actor, "is_authenticated", False)) else None
    return AuditEvent.objects.create(
        actor=user, action=action, object_type=object_type, object_id=str(object_id), data=data or {}
    )
