"""The GOV.UK date input (schoolpartners.dateinput): three boxes, messages that say what to fix."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from schoolpartners.dateinput import GovukDateField
from schoolpartners.params import HardenedForm


class When(HardenedForm):
    start = GovukDateField(label="Start date")
    join = GovukDateField(label="Proposed date of joining", required=False, not_past=True)


def _errors(**parts: str) -> list[str]:
    data = {f"start-{k}": v for k, v in parts.items()}
    form = When(data)
    form.is_valid()
    return [str(e) for e in form.errors.get("start", [])]


@pytest.mark.parametrize(
    "parts,message",
    [
        ({"day": "", "month": "", "year": ""}, "Enter the start date"),
        ({"day": "1", "month": "", "year": "2027"}, "Start date must include a month"),
        ({"day": "", "month": "", "year": "2027"}, "Start date must include a day and month"),
        ({"day": "31", "month": "2", "year": "2027"}, "Start date must be a real date"),
        ({"day": "1", "month": "13", "year": "2027"}, "Start date must be a real date"),
        ({"day": "x", "month": "1", "year": "2027"}, "Start date must be a real date"),
        ({"day": "1", "month": "1", "year": "27"}, "Year must include 4 numbers"),
        ({"day": "1", "month": "1", "year": "99999999999999999999"}, "Year must include 4 numbers"),
    ],
)
def test_each_mistake_gets_a_message_that_says_what_to_fix(parts: dict[str, str], message: str) -> None:
    assert _errors(**parts) == [message]


def test_a_real_date_and_month_names_and_the_iso_form_are_accepted() -> None:
    for data in (
        {"start-day": "2", "start-month": "12", "start-year": "2026"},
        {"start-day": " 02 ", "start-month": "Dec", "start-year": "2026"},
        {"start-day": "2", "start-month": "december", "start-year": "2026"},
        {"start": "2026-12-02"},
    ):
        form = When(data)
        assert form.is_valid(), (data, form.errors)
        assert form.cleaned_data["start"] == dt.date(2026, 12, 2)


def test_a_date_that_cannot_be_in_the_past() -> None:
    today = timezone.localdate()
    past = today - dt.timedelta(days=1)
    base = {"start": "2026-12-02"}
    form = When(
        {**base, "join-day": str(past.day), "join-month": str(past.month), "join-year": str(past.year)}
    )
    assert not form.is_valid()
    assert form.errors["join"] == ["Proposed date of joining must be today or in the future"]
    form = When(
        {**base, "join-day": str(today.day), "join-month": str(today.month), "join-year": str(today.year)}
    )
    assert form.is_valid(), form.errors


def test_the_boxes_render_the_prefilled_value_and_the_posted_one() -> None:
    html = str(When(initial={"start": dt.date(2026, 12, 2)})["start"])
    assert (
        'name="start-day"' in html and 'value="2"' in html and 'value="12"' in html and 'value="2026"' in html
    )
    assert 'id="id_start"' in html and 'id="id_start-month"' in html and 'id="id_start-year"' in html
    bound = When({"start-day": "31", "start-month": "", "start-year": "2027"})
    bound.is_valid()
    html = str(bound["start"])
    assert 'value="31"' in html and "govuk-input--error" in html
