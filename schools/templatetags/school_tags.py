"""Template filters for school pages."""

from __future__ import annotations

from django import template

from schools.measures import academic_year_label

register = template.Library()


@register.filter
def academic_year(year: int | None) -> str:
    """2019 -> 2018/19."""
    return academic_year_label(int(year)) if year else ""


@register.filter
def pct(value: float | None) -> str:
    """A stored percentage (0-100) for display: 12.5 -> 12.5%; None -> 'no data'."""
    if value is None:
        return "no data"
    return f"{value:.1f}%"


@register.filter
def count(value: int | None) -> str:
    if value is None:
        return "no data"
    return f"{value:,}"
