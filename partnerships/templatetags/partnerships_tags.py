"""Template helpers: a school's partnerships (school page) and number filters."""

from __future__ import annotations

from typing import Any

from django import template

from partnerships.models import Membership

register = template.Library()


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


@register.filter
def num(value: Any, digits: int = 1) -> str:
    if value is None or value == "":
        return "–"
    try:
        return f"{float(value):,.{int(digits)}f}"
    except (TypeError, ValueError):
        return str(value)


@register.filter
def pct(value: Any) -> str:
    return "–" if value is None else f"{100.0 * float(value):.0f}%"


@register.filter
def get(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None
