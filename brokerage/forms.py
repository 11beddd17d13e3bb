"""Forms for the brokerage pages (validation only; services do the work)."""

from __future__ import annotations

from typing import Any

from django import forms

from brokerage.models import (
    CAPACITY_MAX,
    CAPACITY_MIN,
    DAYS_MAX,
    DAYS_MIN,
    EXTRA_PLACES_MAX,
    EXTRA_PLACES_MIN,
    MAX_MILES_MAX,
    MAX_MILES_MIN,
    RADIUS_MAX,
    RADIUS_MIN,
    Area,
    Designation,
    Severity,
    SupportType,
)
from schoolpartners.dateinput import GovukDateField, check_order
from schoolpartners.params import MAX_DB_INT, HardenedForm

TRUST_RULES = [
    ("none", "No trust rule"),
    ("exclude_same", "Not from the same trust"),
    ("prefer_same", "Prefer the same trust"),
]


class MatchingForm(HardenedForm):
    region = forms.ChoiceField(label="Region")
    trust_rule = forms.ChoiceField(label="Trust rule", choices=TRUST_RULES, initial="none")
    max_radius = forms.FloatField(
        label="What if: largest radius of the ladder (miles)",
        required=False,
        min_value=RADIUS_MIN,
        max_value=RADIUS_MAX,
        help_text="Leave empty for the standard ladder 25, 50, 75 miles then national.",
    )
    support_from = GovukDateField(
        label="Support starting from",
        required=False,
        help_text="Only offers available on this date take part. Leave empty for today. For example, 1 9 2027.",
    )
    national = forms.BooleanField(
        label="Allow national matches beyond the ladder", required=False, initial=True
    )
    exclude_offers = forms.CharField(
        label="What if: exclude offers (offer numbers, comma separated)", required=False
    )
    extra_capacity = forms.CharField(
        label="What if: add capacity (offer:places, comma separated, e.g. 12:1)", required=False
    )

    def __init__(self, *args: Any, regions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(r, r) for r in regions]  # type: ignore[attr-defined]

    def clean_exclude_offers(self) -> list[int]:
        raw = self.cleaned_data.get("exclude_offers") or ""
        try:
            offers = [int(x) for x in raw.replace(" ", "").split(",") if x]
            if any(not 1 <= o <= MAX_DB_INT for o in offers):
                raise ValueError(raw)
            return offers
        except ValueError as exc:
            raise forms.ValidationError("Enter offer numbers separated by commas") from exc

    def clean_extra_capacity(self) -> dict[str, int]:
        raw = self.cleaned_data.get("extra_capacity") or ""
        out: dict[str, int] = {}
        try:
            for part in raw.replace(" ", "").split(","):
                if part:
                    k, v = part.split(":")
                    if not 1 <= int(k) <= MAX_DB_INT or not EXTRA_PLACES_MIN <= int(v) <= EXTRA_PLACES_MAX:
                        raise ValueError(part)
                    out[str(int(k))] = int(v)
        except ValueError as exc:
            raise forms.ValidationError(
                f"Enter offer:places pairs, e.g. 12:1, 15:2 (places {EXTRA_PLACES_MIN} to {EXTRA_PLACES_MAX})"
            ) from exc
        return out

    def options(self) -> dict[str, Any]:
        d = self.cleaned_data
        opts: dict[str, Any] = {"trust_rule": d["trust_rule"], "national": bool(d.get("national"))}
        if d.get("support_from"):
            opts["support_from"] = d["support_from"].isoformat()
        if d.get("max_radius"):
            opts["max_radius"] = d["max_radius"]
        if d.get("exclude_offers"):
            opts["exclude_offers"] = d["exclude_offers"]
        if d.get("extra_capacity"):
            opts["extra_capacity"] = d["extra_capacity"]
        return opts


class DeploymentForm(HardenedForm):
    support_type = forms.ChoiceField(label="Type of support", choices=SupportType.choices)
    days = forms.IntegerField(label="Days of support", required=False, min_value=DAYS_MIN, max_value=DAYS_MAX)
    start = GovukDateField(label="Start date", required=False, help_text="For example, 2 12 2026.")
    end = GovukDateField(label="End date", required=False, help_text="The same as or after the start date.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        check_order(self, "start", "end")
        return data


class CloseForm(HardenedForm):
    outcome = forms.CharField(label="Outcome", widget=forms.Textarea(attrs={"rows": 3}))


class NeedForm(HardenedForm):
    school = forms.TypedChoiceField(label="School", coerce=int)
    area = forms.ChoiceField(label="Area of need", choices=Area.choices)
    severity = forms.TypedChoiceField(label="Severity", choices=Severity.choices, coerce=int, initial=2)
    evidence = forms.CharField(
        label="What is the need? (optional)", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, schools: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].choices = schools  # type: ignore[attr-defined]


class OfferForm(HardenedForm):
    school = forms.TypedChoiceField(label="School the support comes from", coerce=int)
    areas = forms.MultipleChoiceField(label="Areas of expertise", choices=Area.choices)
    phases = forms.MultipleChoiceField(
        label="Phases", choices=[("primary", "Primary"), ("secondary", "Secondary")]
    )
    designation = forms.ChoiceField(label="Designation", choices=Designation.choices, required=False)
    capacity = forms.IntegerField(
        label="Capacity (schools at a time; empty for the default)",
        required=False,
        min_value=CAPACITY_MIN,
        max_value=CAPACITY_MAX,
    )
    max_miles = forms.FloatField(
        label="Maximum travel distance in miles (empty for no limit)",
        required=False,
        min_value=MAX_MILES_MIN,
        max_value=MAX_MILES_MAX,
    )
    available_from = GovukDateField(
        label="Available from", required=False, help_text="For example, 1 9 2027."
    )
    available_to = GovukDateField(label="Available until", required=False)

    def __init__(self, *args: Any, schools: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].choices = schools  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        check_order(self, "available_from", "available_to")
        return data
