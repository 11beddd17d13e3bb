"""Template filters for school pages."""

from __future__ import annotations

from django import template
from django.forms import BoundField
from django.utils.html import escape
from django.utils.safestring import mark_safe

from schoolpartners.regions import english_region as region_of
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


@register.simple_tag
def select_options(field: BoundField) -> str:
    """The <option> list of a choice field, selected value marked (built in Python: filters offer ~150 LAs)."""
    current = field.value()
    current = "" if current is None else str(current)
    parts = []
    for value, label in field.field.choices:  # type: ignore[attr-defined]
        value = str(value)
        selected = " selected" if value == current else ""
        parts.append(f'<option value="{escape(value)}"{selected}>{escape(label)}</option>')
    return mark_safe("".join(parts))  # noqa: S308 - every value and label is escaped above


@register.filter
def english_region(stored: str | None) -> str:
    """The English region a stored DfE sub-region belongs to ("London East" -> "London")."""
    return region_of(stored or "")
