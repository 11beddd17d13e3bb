"""Template filters for school pages (shared filters are in the kernel library: `{% load sp %}`)."""

from __future__ import annotations

from django import template

from schools.measures import academic_year_label

register = template.Library()


@register.filter
def academic_year(year: int | None) -> str:
    """2019 -> 2018/19."""
    return academic_year_label(int(year)) if year else ""
