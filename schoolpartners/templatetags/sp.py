"""The one shared template library: `{% load sp %}`.

Number filters print a missing value (None or "") as "–" and any other value that is not a number unchanged,
so a page that wants other wording for a missing value says so first:
`{{ c.pct_eal|default_if_none:"no data"|pct }}`.

Two percent filters, by the scale of the value they are given:
- `pct`: the value is already a percentage (0–100): `12.5|pct` -> "12.5%";
- `fraction_pct`: the value is a fraction (0–1): `0.125|fraction_pct` -> "12%".

Domain-specific tags (a school's partnerships panel, the evaluation chart) stay in their domain's library.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django import template
from django.forms import BoundField
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from schoolpartners.regions import english_region as _english_region

register = template.Library()

MISSING = "–"


_NEGATIVE_ZERO = re.compile(r"[-+](?=[0.,]*%?$)")


def _number(value: Any, digits: Any, fmt: Callable[[float, int], str]) -> str:
    if value is None or value == "":
        return MISSING
    try:
        text = fmt(float(value), int(digits))
    except (TypeError, ValueError):
        return str(value)
    # A value that rounds to zero has no sign: never "-0.00" (nor "+0.00").
    return _NEGATIVE_ZERO.sub("", text, count=1) if text[:1] in "-+" else text


@register.filter
def num(value: Any, digits: Any = 1) -> str:
    """A number with thousands separators: `12345.678|num` -> "12,345.7", `|num:0` -> "12,346"."""
    return _number(value, digits, lambda v, d: f"{v:,.{d}f}")


@register.filter
def signed(value: Any, digits: Any = 1) -> str:
    """A number with its sign: `0.5|signed:2` -> "+0.50"."""
    return _number(value, digits, lambda v, d: f"{v:+,.{d}f}")


@register.filter
def pct(value: Any, digits: Any = 1) -> str:
    """A value already on the 0–100 scale as a percentage: `12.5|pct` -> "12.5%" (not "1250%")."""
    return _number(value, digits, lambda v, d: f"{v:,.{d}f}%")


@register.filter
def fraction_pct(value: Any, digits: Any = 0) -> str:
    """A fraction (0–1) as a percentage: `0.125|fraction_pct` -> "12%", `|fraction_pct:1` -> "12.5%"."""
    return _number(value, digits, lambda v, d: f"{100.0 * v:,.{d}f}%")


@register.filter
def get(mapping: Any, key: Any) -> Any:
    """`mapping|get:key`: the value under a variable key; None when absent or not a mapping."""
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def english_region(stored: str | None) -> str:
    """The English region a stored DfE sub-region belongs to ("London East" -> "London"; "" if none)."""
    return _english_region(stored)


@register.simple_tag
def select_options(field: BoundField) -> SafeString:
    """The <option> list of a choice field, selected value marked (built in Python: filters offer ~150 LAs)."""
    current = field.value()
    current = "" if current is None else str(current)
    parts = []
    for value, label in field.field.choices:  # type: ignore[attr-defined]
        value = str(value)
        selected = " selected" if value == current else ""
        parts.append(f'<option value="{escape(value)}"{selected}>{escape(label)}</option>')
    return mark_safe("".join(parts))  # noqa: S308 - every value and label is escaped above
