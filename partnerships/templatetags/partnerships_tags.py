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
        "in_mat": any(m.left is None and m.partnership.kind == "mat" for m in memberships),
    }
