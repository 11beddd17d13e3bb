"""Search form: validates the query string of /schools/ and turns it into `SearchParams`."""

from __future__ import annotations

from typing import Any

from django import forms

from schoolpartners.params import HardenedForm
from schools.queries import SORTS, SearchParams, filter_options, search_measure_columns

PAGE_SIZE = 50
MAX_PAGE = 100_000


class SearchForm(HardenedForm):
    q = forms.CharField(required=False, max_length=200, label="School name, URN, LAESTAB, postcode or town")
    phase = forms.ChoiceField(required=False, label="Phase")
    type = forms.ChoiceField(required=False, label="Establishment type")
    status = forms.ChoiceField(required=False, label="Open or closed")
    ofsted = forms.ChoiceField(required=False, label="Ofsted rating")
    la = forms.ChoiceField(required=False, label="Local authority")
    region = forms.ChoiceField(required=False, label="Region")
    trust = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    trust_name = forms.CharField(required=False, max_length=200, label="Trust name")
    # Set by the sortable column headers and pagination links, not typed: invalid values are ignored quietly.
    sort = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)
    order = forms.ChoiceField(
        required=False, choices=[("", ""), ("asc", "asc"), ("desc", "desc")], widget=forms.HiddenInput
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        options = filter_options()
        any_choice = [("", "Any")]
        self.fields["phase"].choices = any_choice + options["phase"]  # type: ignore[attr-defined]
        self.fields["type"].choices = any_choice + options["establishment_type"]  # type: ignore[attr-defined]
        self.fields["status"].choices = any_choice + options["status"]  # type: ignore[attr-defined]
        self.fields["ofsted"].choices = any_choice + options["ofsted"]  # type: ignore[attr-defined]
        self.fields["la"].choices = any_choice + options["la"]  # type: ignore[attr-defined]
        self.fields["region"].choices = any_choice + options["region"]  # type: ignore[attr-defined]

    def clean_q(self) -> str:
        return " ".join(str(self.cleaned_data.get("q") or "").split())

    def value(self, name: str) -> Any:
        """The cleaned value of a field, or its empty value when that field did not validate."""
        if not self.is_bound:
            return None
        self.is_valid()
        return self.cleaned_data.get(name) if name not in self.errors else None

    def params(self, page_size: int = PAGE_SIZE) -> SearchParams:
        """SearchParams from the valid fields; invalid fields are ignored (the page shows their errors)."""
        phase = self.value("phase") or ""
        measures = search_measure_columns(phase)
        sort = self.value("sort") or "name"
        if sort not in SORTS and sort not in {f"m_{c}_{y}" for c, y in measures}:
            sort = "name"
        return SearchParams(
            q=self.value("q") or "",
            phase=phase,
            establishment_type=self.value("type") or "",
            status=self.value("status") or "",
            ofsted=self.value("ofsted") or "",
            trust=self.value("trust"),
            la=self.value("la") or "",
            region=self.value("region") or "",
            sort=sort,
            descending=self.value("order") == "desc",
            page=self.value("page") or 1,
            page_size=page_size,
            measures=measures,
        )
