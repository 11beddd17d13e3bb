"""Text input (issue 18, item 7 and row 8): line breaks refused in one-line fields, bidirectional controls
(U+202A-U+202E, U+2066-U+2069) and U+2028/U+2029 refused in every text a client sends and removed from every
export, a size on every free-text field. Domain cases: partnerships/tests/test_text_input.py (a federation name
cannot add lines to an email), brokerage/tests/test_text_input.py (a 1 MB need evidence)."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django import forms

from schoolpartners.exports import Column, csv_response, xlsx_bytes
from schoolpartners.params import MAX_LINE, MAX_TEXT, HardenedForm, body_errors

TRICKS = ["\u202e", "\u202a", "\u2066", "\u2069", "\u2028", "\u2029"]


class Sample(HardenedForm):
    name = forms.CharField()
    note = forms.CharField(widget=forms.Textarea, required=False)
    password = forms.CharField(widget=forms.PasswordInput, required=False)


@pytest.mark.parametrize("trick", TRICKS)
def test_forms_refuse_invisible_direction_and_separator_characters(trick):
    form = Sample({"name": f"Oak{trick}Fed", "note": f"fi{trick}ne"})
    assert not form.is_valid()
    assert set(form.errors) == {"name", "note"}
    assert "invisible direction or line-separator" in form.errors["name"][0]


def test_one_line_fields_refuse_line_breaks_text_areas_keep_them():
    form = Sample({"name": "Oak Federation\r\nDear head teacher, click here", "note": "line 1\r\nline 2"})
    assert not form.is_valid()
    assert list(form.errors) == ["name"] and "one line" in form.errors["name"][0]
    assert Sample({"name": "Oak Federation", "note": "line 1\nline 2"}).is_valid()


def test_every_text_field_has_a_size():
    assert Sample().fields["name"].max_length == MAX_LINE
    assert Sample().fields["note"].max_length == MAX_TEXT
    form = Sample({"name": "x" * (MAX_LINE + 1), "note": "y" * (MAX_TEXT + 1)})
    assert not form.is_valid() and set(form.errors) == {"name", "note"}
    assert Sample({"name": "x" * MAX_LINE, "note": "y" * MAX_TEXT}).is_valid()


def test_api_bodies_refuse_invisible_characters_and_overlong_text_whatever_the_schema():
    errs = body_errors({"a": "ok\u202eko", "b": ["x" * (MAX_TEXT + 1)], "c": "x" * MAX_TEXT})
    assert [e["loc"] for e in errs] == [["body", "a"], ["body", "b", 0]]


def test_exports_remove_direction_controls_and_separators():
    rows = [{"name": "Oak\u202eAcademy\u2066x\u2069", "note": "a\u2028b\u2029c"}]
    spec = [Column("name", "Name"), Column("note", "Note")]
    body = b"".join(csv_response(rows, spec, "t").streaming_content).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(body)))[1] == ["OakAcademyx", "a\nb\nc"]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(rows, spec))).active
    assert [c.value for c in sheet[2]] == ["OakAcademyx", "a\nb\nc"]
