"""`{% school_before_after school %}`: a school's own before-and-after chart against its family (school page)."""

from __future__ import annotations

from typing import Any

from django import template

from evaluation import charts, queries
from schools.measures import academic_year_label

register = template.Library()


@register.inclusion_tag("evaluation/_school_before_after_body.html")
def school_before_after(school: Any) -> dict[str, Any]:
    urn = int(getattr(school, "urn", school))
    items = []
    for i, ev in enumerate(queries.school_events(urn)):
        label = queries.measure_label(ev.measure)
        items.append(
            {
                "event": ev,
                "event_label": queries.event_label(ev.event_type),
                "measure_label": label,
                "last_pre": academic_year_label(ev.last_pre),
                "first_post": academic_year_label(ev.first_post),
                "series": [{**s, "label": academic_year_label(s["year"])} for s in ev.series],
                "chart": charts.before_after_chart(
                    ev.series,
                    ev.first_post,
                    ev.last_pre,
                    f"before-after-{i}",
                    f"{label}: this school and its similar schools before and after {ev.date:%B %Y}",
                    label,
                ),
            }
        )
    return {"items": items, "urn": urn}
