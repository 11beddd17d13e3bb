"""The GOV.UK date input (day, month and year boxes) as one reusable form field.

`GovukDateField` reads `<name>-day`, `<name>-month` and `<name>-year` (or, for scripts and older clients, one
ISO `<name>` value such as 2026-09-01) and answers with the GOV.UK Design System's error messages, which say
what to fix: "Enter the start date", "Start date must include a month", "Start date must be a real date",
"Start date must be today or in the future". Templates render it with `schoolpartners/_field.html` (a fieldset
with a legend, the hint, the error and the three boxes); the error summary links to the first box.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

PARTS = ("day", "month", "year")
MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_DAY_MONTH = re.compile(r"^\d{1,2}$")
_YEAR = re.compile(r"^\d{4}$")
DateParts = tuple[str, str, str]


def _parts(value: Any) -> DateParts:
    if isinstance(value, dt.date):
        return (str(value.day), str(value.month), str(value.year))
    if isinstance(value, tuple | list) and len(value) == 3:
        return (str(value[0] or ""), str(value[1] or ""), str(value[2] or ""))
    if isinstance(value, str) and value:
        try:
            return _parts(dt.date.fromisoformat(value))
        except ValueError:
            return ("", "", "")
    return ("", "", "")


class GovukDateWidget(forms.Widget):
    """Three text boxes in a `govuk-date-input`; the day box carries the field's id (label and error links)."""

    govuk_date = True  # the field templates look for it

    def value_from_datadict(self, data: Any, files: Any, name: str) -> DateParts | str | None:
        if any(f"{name}-{p}" in data for p in PARTS):
            return tuple(str(data.get(f"{name}-{p}", "")).strip() for p in PARTS)  # type: ignore[return-value]
        return data.get(name)  # type: ignore[no-any-return]

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return name not in data and not any(f"{name}-{p}" in data for p in PARTS)

    def format_value(self, value: Any) -> DateParts:  # type: ignore[override]
        return _parts(value)

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        attrs = {**self.attrs, **(attrs or {})}
        base_id = attrs.get("id") or f"id_{name}"
        invalid = attrs.get("aria-invalid") == "true"
        values = self.format_value(value)
        items = []
        for i, (part, val) in enumerate(zip(PARTS, values, strict=True)):
            width = 4 if part == "year" else 2
            items.append(
                (
                    base_id if i == 0 else f"{base_id}-{part}",
                    part.capitalize(),
                    f"{name}-{part}",
                    width,
                    " govuk-input--error" if invalid else "",
                    val,
                    "bday-" + part if attrs.get("autocomplete") == "bday" else "off",
                )
            )
        inner = format_html_join(
            "",
            '<div class="govuk-date-input__item"><div class="govuk-form-group">'
            '<label class="govuk-label govuk-date-input__label" for="{0}">{1}</label>'
            '<input class="govuk-input govuk-date-input__input govuk-input--width-{3}{4}" id="{0}" name="{2}"'
            ' type="text" inputmode="numeric" value="{5}" autocomplete="{6}"></div></div>',
            items,
        )
        return format_html('<div class="govuk-date-input" id="{}-input">{}</div>', base_id, inner)


class GovukDateField(forms.Field):
    """A date typed as day, month and year. `not_past=True` refuses dates before today."""

    widget = GovukDateWidget

    def __init__(self, *args: Any, not_past: bool = False, name_in_errors: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.not_past = not_past
        self.name_in_errors = name_in_errors

    def _name(self) -> str:
        label = str(self.name_in_errors or self.label or "Date")
        for cut in (" (", " – "):
            label = label.split(cut)[0]
        return label[:1].upper() + label[1:]

    def to_python(self, value: Any) -> dt.date | None:
        if isinstance(value, dt.date):
            return value
        name = self._name()
        if isinstance(value, str):  # one ISO value (scripts, the API's format)
            if not value.strip():
                return None
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError as exc:
                raise forms.ValidationError(f"{name} must be a real date", code="invalid") from exc
        day, month, year = _parts(value)
        if not (day or month or year):
            return None
        missing = [p for p, v in zip(PARTS, (day, month, year), strict=True) if not v]
        if missing:
            raise forms.ValidationError(f"{name} must include a {' and '.join(missing)}", code="incomplete")
        month_number = MONTHS.get(month.lower()) if not month.isdigit() else None
        if month_number is not None:
            month = str(month_number)
        if not (_DAY_MONTH.match(day) and _DAY_MONTH.match(month)):
            raise forms.ValidationError(f"{name} must be a real date", code="invalid")
        if not _YEAR.match(year):
            raise forms.ValidationError("Year must include 4 numbers", code="year")
        try:
            return dt.date(int(year), int(month), int(day))
        except ValueError as exc:
            raise forms.ValidationError(f"{name} must be a real date", code="invalid") from exc

    def validate(self, value: Any) -> None:
        if value in self.empty_values and self.required:
            raise forms.ValidationError(f"Enter the {self._name().lower()}", code="required")
        if value and self.not_past and value < timezone.localdate():
            raise forms.ValidationError(f"{self._name()} must be today or in the future", code="past")

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != initial
        except forms.ValidationError:
            return True


def check_order(form: forms.Form, first: str, last: str) -> None:
    """Adds "<last> must be the same as or after <first>" when both dates are valid and out of order."""
    a, b = form.cleaned_data.get(first), form.cleaned_data.get(last)
    if a and b and b < a:
        f_first, f_last = form.fields[first], form.fields[last]
        name_last = f_last._name() if isinstance(f_last, GovukDateField) else str(f_last.label)
        name_first = f_first._name() if isinstance(f_first, GovukDateField) else str(f_first.label)
        form.add_error(last, f"{name_last} must be the same as or after the {name_first.lower()}")
