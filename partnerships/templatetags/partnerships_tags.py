"""Template helpers: a school's partnerships (school page) and number filters."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from partnerships.models import Membership

register = template.Library()


@register.inclusion_tag("partnerships/_school_partnerships.html")
def school_partnerships(school: Any) -> dict[str, Any]:
    memberships = list(
        Membership.objects.filter(school=school).select_related("partnership").order_by("left", "-joined")
    )
    today = timezone.localdate()
    return {
        "school": school,
        "today": today,
        "current": [m for m in memberships if m.left is None or m.left > today],
        "past": [m for m in memberships if m.left is not None and m.left <= today],
        "in_mat": any(
            (m.left is None or m.left > today) and m.partnership.kind == "mat" for m in memberships
        ),
    }
