"""Template helpers: the header's unread-notification count and a school's partnerships (school page)."""

from __future__ import annotations

from typing import Any

from django import template

from partnerships.models import Membership

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context: dict[str, Any]) -> int:
    from partnerships.services import unread_count

    request = context.get("request")
    return unread_count(getattr(request, "user", None)) if request is not None else 0


@register.inclusion_tag("partnerships/_school_partnerships.html")
def school_partnerships(school: Any) -> dict[str, Any]:
    memberships = list(
        Membership.objects.filter(school=school).select_related("partnership").order_by("left", "-joined")
    )
    return {
        "school": school,
        "current": [m for m in memberships if m.left is None],
        "past": [m for m in memberships if m.left is not None],
    }
