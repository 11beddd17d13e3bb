"""Number formatting for the similarity pages."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def num(value: float | None, digits: int = 2) -> str:
    """12.3456 -> '12.35'; None -> '–'."""
    if value is None:
        return "–"
    return f"{float(value):,.{int(digits)}f}"


@register.filter
def signed(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "–"
    return f"{float(value):+.{int(digits)}f}"


@register.filter
def percent(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{float(value):.{int(digits)}f}%"


@register.filter
def miles(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{float(value):,.1f}"


@register.filter
def get(d: dict | None, key: object) -> object:
    return None if d is None else d.get(key)  # type: ignore[call-overload]
