from __future__ import annotations

from typing import Any

from django import forms

from schoolpartners.dateinput import GovukDateField, check_order
from schoolpartners.params import HardenedForm, is_id
from support.models import SupportType


class ActivityForm(HardenedForm):
    provider_urns = forms.CharField(
        label="Provider school URNs",
        required=False,
        help_text="One or more URNs separated by ';'",
    )
    system_leader = forms.CharField(label="System leader (name)", required=False, max_length=200)
    recipient_urn = forms.IntegerField(label="Recipient school URN", min_value=100000, max_value=9999999)
    support_type = forms.ChoiceField(label="Type of support", choices=SupportType.choices)
    start_date = GovukDateField(label="Start date", help_text="For example, 1 9 2017.")
    end_date = GovukDateField(label="End date", required=False, help_text="Leave empty when it continues.")
    days = forms.DecimalField(label="Days given", required=False, min_value=0, max_digits=7, decimal_places=1)
    outcome = forms.CharField(label="Outcome", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_provider_urns(self) -> list[int]:
        text = self.cleaned_data.get("provider_urns") or ""
        parts = [p.strip() for p in text.replace(",", ";").split(";") if p.strip()]
        if any(not is_id(p) for p in parts):
            raise forms.ValidationError("Enter URNs (digits) separated by ';'")
        return [int(p) for p in parts]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        check_order(self, "start_date", "end_date")
        return data


class PledgeForm(HardenedForm):
    academy_urn = forms.IntegerField(label="Pledging academy URN")
    supported_urn = forms.IntegerField(label="URN of the school it will support")
    pledge_date = GovukDateField(label="Date of the pledge", help_text="For example, 1 4 2016.")
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}))


class UploadForm(HardenedForm):
    file = forms.FileField(label="CSV or XLSX file", help_text="Columns as in docs/support-import.md")
