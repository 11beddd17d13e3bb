"""The audit log's filters: kind, a date range (GOV.UK date inputs: day, month, year), actor, school, trust."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from audit.queries import AuditFilters, kind_choices
from schoolpartners.params import HardenedForm

DATE_PARTS = (("day", 1, 31), ("month", 1, 12), ("year", 2000, 2100))


def _part(part: str) -> forms.IntegerField:
    lo, hi = next((lo, hi) for p, lo, hi in DATE_PARTS if p == part)
    return forms.IntegerField(
        required=False,
        min_value=lo,
        max_value=hi,
        error_messages={
            "invalid": f"Enter the {part} as a number",
            "min_value": f"The {part} must be {lo} or more",
            "max_value": f"The {part} must be {hi} or less",
        },
    )


class AuditFilterForm(HardenedForm):
    kind = forms.ChoiceField(required=False, label="What happened")
    actor = forms.CharField(required=False, max_length=150, label="Done by (username)")
    school = forms.IntegerField(required=False, min_value=100000, max_value=999999, label="School URN")
    trust = forms.IntegerField(required=False, min_value=1, label="Trust (its number in this service)")
    from_day, from_month, from_year = _part("day"), _part("month"), _part("year")
    to_day, to_month, to_year = _part("day"), _part("month"), _part("year")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "Anything"), *kind_choices()]  # type: ignore[attr-defined]

    def _date(self, prefix: str, label: str) -> dt.date | None:
        d, m, y = (self.cleaned_data.get(f"{prefix}_{p}") for p, _, _ in DATE_PARTS)
        if d is None and m is None and y is None:
            return None
        if None in (d, m, y):
            self.add_error(f"{prefix}_day", f"The {label} date must include a day, month and year")
            return None
        try:
            return dt.date(int(y), int(m), int(d))  # type: ignore[arg-type]
        except ValueError:
            self.add_error(f"{prefix}_day", f"The {label} date must be a real date")
            return None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for prefix in ("from", "to"):
            parts_ok = not any(f"{prefix}_{p}" in self.errors for p, _, _ in DATE_PARTS)
            data[f"date_{prefix}"] = self._date(prefix, prefix) if parts_ok else None
        if data["date_from"] and data["date_to"] and data["date_to"] < data["date_from"]:
            self.add_error("to_day", "The to date must be the same as or after the from date")
        return data

    def filters(self) -> AuditFilters:
        c = self.cleaned_data
        return AuditFilters(
            kind=c.get("kind") or "",
            date_from=c.get("date_from"),
            date_to=c.get("date_to"),
            actor=(c.get("actor") or "").strip(),
            school=c.get("school"),
            trust=c.get("trust"),
        )
