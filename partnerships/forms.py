"""Forms of the partnership procedures, designations, ISSP register and grant calculator (GOV.UK styled)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from partnerships import queries
from partnerships.models import Activity, DesignationKind, RequestKind
from schoolpartners.dateinput import GovukDateField, check_order
from schoolpartners.params import HardenedForm, is_id


class GovukForm(HardenedForm):
    """Adds GOV.UK Frontend classes to every widget; templates render it with partnerships/_form.html."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # error styling comes from govuk-form-group--error (self.errors must not run before choices are set)
        for field in self.fields.values():
            w = field.widget
            err = ""
            if isinstance(w, forms.Select):
                w.attrs.setdefault("class", "govuk-select" + err.replace("input", "select"))
            elif isinstance(w, forms.Textarea):
                w.attrs.setdefault("class", "govuk-textarea" + err.replace("input", "textarea"))
                w.attrs.setdefault("rows", 3)
            elif isinstance(w, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
                pass
            else:
                w.attrs.setdefault("class", "govuk-input" + err)


def _date(label: str, help_text: str = "", required: bool = True, not_past: bool = False) -> GovukDateField:
    """The GOV.UK date input (day, month, year); `not_past` refuses dates before today."""
    return GovukDateField(label=label, help_text=help_text, required=required, not_past=not_past)


def future_hint(day: int, month: int) -> str:
    """ "For example, 1 9 2027. It cannot be in the past." with the next such day (GOV.UK date hint)."""
    today = timezone.localdate()
    year = today.year + ((month, day) <= (today.month, today.day))
    return f"For example, {day} {month} {year}. It cannot be in the past."


TRUST_REQUIRED = "Choose the trust to join, or type its name or DfE id (for example TR02659)"


class TrustField(forms.CharField):
    """A multi-academy trust picked from a list (enhanced to a type-ahead) or typed as its DfE id (TR02659),
    its exact name or its number on this service; cleans to the trust's id."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("error_messages", {"required": TRUST_REQUIRED})
        super().__init__(*args, widget=forms.Select(attrs={"data-module": "sp-autocomplete"}), **kwargs)

    def set_choices(self, choices: list[tuple[int, str]], selected: str = "") -> None:
        """The select's options; a typed value that is not an option stays as the first one."""
        opts: list[tuple[str, str]] = [("", "")] + [(str(v), label) for v, label in choices]
        if selected and selected not in {v for v, _ in opts}:
            opts.insert(1, (selected, selected))
        self.widget.choices = opts  # type: ignore[attr-defined]

    def clean(self, value: Any) -> int:  # type: ignore[override]
        text = super().clean(value)
        found = queries.resolve_mat(text)
        if isinstance(found, str):
            raise forms.ValidationError(found)
        return found


class JoinForm(GovukForm):
    school = forms.TypedChoiceField(label="Your school", coerce=int)
    trust = TrustField(
        label="Trust to join",
        help_text="Start typing the trust's name or its DfE id (for example TR02659), then choose it.",
    )
    effective_date = _date("Proposed date of joining", not_past=True)
    reason = forms.CharField(
        label="Why the school wants to join", required=False, max_length=500, widget=forms.Textarea
    )

    def __init__(self, *args: Any, schools: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].choices = schools or []  # type: ignore[attr-defined]
        self.fields["effective_date"].help_text = future_hint(1, 9)
        typed = str(self.data.get(self.add_prefix("trust"), "")) if self.is_bound else ""
        trust_field = self.fields["trust"]
        assert isinstance(trust_field, TrustField)
        trust_field.set_choices(queries.mat_choices(), typed)


class LeaveForm(GovukForm):
    school = forms.TypedChoiceField(label="Your school", coerce=int)
    effective_date = _date("Proposed date of leaving", not_past=True)
    reason = forms.CharField(label="Why the academy wants to leave", max_length=500, widget=forms.Textarea)

    def __init__(self, *args: Any, schools: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].choices = schools or []  # type: ignore[attr-defined]
        self.fields["effective_date"].help_text = future_hint(31, 8)


class FormPartnershipForm(GovukForm):
    kind = forms.ChoiceField(
        label="What to form",
        choices=[
            (RequestKind.FORM_FEDERATION.value, "A federation"),
            (RequestKind.FORM_MAT.value, "A new multi-academy trust"),
        ],
    )
    school = forms.TypedChoiceField(label="Your school", coerce=int)
    name = forms.CharField(label="Name of the federation or trust", max_length=200)
    others = forms.CharField(
        label="URNs of the other schools", help_text="Separate URNs with commas or spaces.", max_length=500
    )
    effective_date = _date("Proposed start date", not_past=True)
    reason = forms.CharField(label="Why (optional)", required=False, max_length=500, widget=forms.Textarea)

    def __init__(self, *args: Any, schools: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].choices = schools or []  # type: ignore[attr-defined]
        self.fields["effective_date"].help_text = future_hint(1, 9)

    def clean_others(self) -> list[int]:
        parts = [p for p in self.cleaned_data["others"].replace(",", " ").split() if p]
        if not parts or not all(is_id(p) for p in parts):
            raise forms.ValidationError("Enter the URNs of the other schools, as numbers")
        return [int(p) for p in parts]


class DecisionForm(GovukForm):
    decision = forms.ChoiceField(
        label="Decision", choices=[("yes", "Consent / approve"), ("no", "Decline")], widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label="Reason (required when declining)", required=False, max_length=500, widget=forms.Textarea
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == "no" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Give a reason for declining")
        return data


class SchoolConsentForm(DecisionForm):
    school = forms.TypedChoiceField(label="For school", coerce=int)

    def __init__(self, *args: Any, schools: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].choices = schools or []  # type: ignore[attr-defined]


class DesignationForm(GovukForm):
    kind = forms.ChoiceField(label="Designation", choices=DesignationKind.choices)
    school = forms.IntegerField(label="School URN", required=False)
    person_name = forms.CharField(
        label="Person's name",
        required=False,
        max_length=200,
        help_text="For NLE, LLE and SLE designations. Give a school, a person or both.",
    )
    valid_from = _date("Valid from", "For example, 1 9 2025.")
    valid_to = _date("Valid to (optional)", "Leave empty when it has no end date.", required=False)
    expertise = forms.CharField(
        label="Areas of expertise", required=False, max_length=300, help_text="Comma-separated."
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("school") and not (data.get("person_name") or "").strip():
            self.add_error("school", "Enter a school URN or a person's name")
        check_order(self, "valid_from", "valid_to")
        return data


class RegisterForm(GovukForm):
    kind = forms.ChoiceField(
        label="Kind of partnership",
        choices=[
            ("issp", "Independent–state school partnership"),
            ("sponsor", "Academy sponsor"),
            ("teaching_hub", "Teaching school hub"),
            ("umbrella", "Umbrella trust"),
        ],
    )
    name = forms.CharField(label="Name", max_length=200)
    urns = forms.CharField(
        label="URNs of the schools", help_text="Separate URNs with commas or spaces.", max_length=1000
    )
    activities = forms.MultipleChoiceField(
        label="Activities (ISSP)",
        required=False,
        choices=Activity.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    description = forms.CharField(
        label="Description (optional)", required=False, max_length=500, widget=forms.Textarea
    )

    def clean_urns(self) -> list[int]:
        parts = [p for p in self.cleaned_data["urns"].replace(",", " ").split() if p]
        if not parts or not all(is_id(p) for p in parts):
            raise forms.ValidationError("Enter URNs as numbers")
        return sorted({int(p) for p in parts})


class IsspSearchForm(GovukForm):
    activity = forms.ChoiceField(
        label="Activity", required=False, choices=[("", "Any activity"), *Activity.choices]
    )
    la = forms.CharField(label="Local authority", required=False, max_length=100)
    region = forms.CharField(label="Region", required=False, max_length=100)
    postcode = forms.CharField(label="Near postcode", required=False, max_length=10)
    urn = forms.IntegerField(label="Or near school (URN)", required=False)
    miles = forms.FloatField(label="Within miles", required=False, min_value=0, max_value=500)


class IsspPostForm(GovukForm):
    school = forms.TypedChoiceField(label="Your school", coerce=int)
    activity = forms.ChoiceField(label="Activity", choices=Activity.choices)
    description = forms.CharField(
        label="What you offer or are looking for", required=False, max_length=1000, widget=forms.Textarea
    )
    max_miles = forms.IntegerField(label="Furthest distance (miles)", initial=25, min_value=1, max_value=200)

    def __init__(self, *args: Any, schools: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].choices = schools or []  # type: ignore[attr-defined]


class GrantForm(GovukForm):
    urns = forms.CharField(
        label="URNs of the primary schools forming or joining the chain",
        max_length=1000,
        help_text="Separate URNs with commas or spaces.",
    )

    def clean_urns(self) -> list[int]:
        parts = [p for p in self.cleaned_data["urns"].replace(",", " ").split() if p]
        if not parts or not all(is_id(p) for p in parts):
            raise forms.ValidationError("Enter URNs as numbers")
        return [int(p) for p in parts][:100]


def today() -> Any:
    return timezone.localdate()
