"""Formatting for the DfE trust measures (partnerships/_trust_measures.html, _compare_measures.html)."""

from __future__ import annotations

from typing import Any

from django import template

from partnerships.dfe_measures import Measure, ordinal
from partnerships.dfe_measures import note_words as _note_words

register = template.Library()
MISSING = "–"


@register.filter
def measure_value(value: Any, measure: Measure) -> str:
    """A value in its measure's unit, thousands separators, never "-0.0": "74.0%", "47.7 points"."""
    if value is None or value == "":
        return MISSING
    v = round(float(value), measure.digits) + 0.0
    text = f"{v:,.{measure.digits}f}"
    return f"{text}%" if measure.unit == "percent" else text


@register.filter
def percentile_text(value: Any) -> str:
    """A percentile (0-100) as "72nd percentile"."""
    if value is None or value == "":
        return MISSING
    return f"{ordinal(int(round(float(value))))} percentile"


VERDICTS = {"above": "Above England", "similar": "Similar to England", "below": "Below England"}


@register.filter
def verdict_text(value: str) -> str:
    return VERDICTS.get(value, "")


@register.filter
def note_words(value: str) -> str:
    """A file's code for a missing value in words: "SUPPMAT" -> "not published: too few pupils or schools"."""
    return _note_words(value or "")
