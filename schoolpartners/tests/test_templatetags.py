"""The kernel template library `{% load sp %}`: each filter, with values that would be wrong under another
filter's convention (a percentage read as a fraction and the other way round)."""

from __future__ import annotations

from django import forms
from django.template import Context, Template

from schoolpartners.templatetags import sp


def render(source: str, **context: object) -> str:
    return Template("{% load sp %}" + source).render(Context(context))


def test_pct_takes_a_value_already_on_the_0_to_100_scale() -> None:
    assert sp.pct(12.5) == "12.5%"  # a fraction filter would print 1250%
    assert sp.pct(0.5) == "0.5%"  # ... and 50% here
    assert sp.pct(100) == "100.0%"
    assert sp.pct(33.333, 0) == "33%"
    assert sp.pct(None) == "–"
    assert render("{{ v|pct }}", v=42.0) == "42.0%"


def test_fraction_pct_takes_a_fraction() -> None:
    assert sp.fraction_pct(0.125) == "12%"  # a 0-100 filter would print 0.1%
    assert sp.fraction_pct(0.5) == "50%"
    assert sp.fraction_pct(1) == "100%"
    assert sp.fraction_pct(0.125, 1) == "12.5%"
    assert sp.fraction_pct(None) == "–"
    assert render("{{ v|fraction_pct }}", v=0.42) == "42%"


def test_missing_values_and_other_wording() -> None:
    assert render('{{ v|default_if_none:"no data"|pct }}', v=None) == "no data"
    assert render('{{ v|default_if_none:"no data"|pct }}', v=7.25) == "7.2%"
    assert render('{{ v|default_if_none:"no data"|num:0 }}', v=None) == "no data"
    assert render('{{ v|default_if_none:"no data"|num:0 }}', v=1234) == "1,234"
    assert sp.num("") == "–" and sp.signed(None) == "–" and sp.fraction_pct("") == "–"
    assert sp.num("n/a") == "n/a"


def test_num_and_signed() -> None:
    assert sp.num(12345.678) == "12,345.7"
    assert sp.num(12345.678, 2) == "12,345.68"
    assert sp.num(0.1234, 3) == "0.123"
    assert render("{{ v|num:0 }}", v=14436) == "14,436"
    assert sp.signed(0.5, 2) == "+0.50" and sp.signed(-1.234, 2) == "-1.23" and sp.signed(0.25) == "+0.2"
    assert render("{{ v|signed:2 }}", v=-0.1) == "-0.10"


def test_get() -> None:
    assert render("{{ d|get:k|default:k }}", d={"primary": "Primary"}, k="primary") == "Primary"
    assert render("{{ d|get:k|default:k }}", d={"primary": "Primary"}, k="all-through") == "all-through"
    assert sp.get(None, "x") is None and sp.get({1: "a"}, 1) == "a"


def test_english_region() -> None:
    assert render("{{ r|english_region }}", r="London East") == "London"
    assert sp.english_region("North West B") == "North West"
    assert sp.english_region(None) == "" and sp.english_region("Atlantis") == ""


class _Form(forms.Form):
    phase = forms.ChoiceField(
        choices=[("", "Any"), ("primary", "Primary"), ("a&b", "<A & B>")], required=False
    )


def test_select_options_marks_the_current_value_and_escapes() -> None:
    html = render("{% select_options form.phase %}", form=_Form({"phase": "primary"}))
    assert html == (
        '<option value="">Any</option><option value="primary" selected>Primary</option>'
        '<option value="a&amp;b">&lt;A &amp; B&gt;</option>'
    )
    assert '<option value="" selected>Any</option>' in render("{% select_options form.phase %}", form=_Form())


def test_never_negative_zero_and_separators_everywhere() -> None:
    # values that round to zero lose their sign in every number filter
    assert sp.num(-0.001, 2) == "0.00" and sp.num(-0.0, 0) == "0" and sp.num(-0.04) == "0.0"
    assert sp.signed(-0.001, 2) == "0.00" and sp.signed(0.0, 2) == "0.00" and sp.signed(-0.006, 2) == "-0.01"
    assert sp.pct(-0.01, 1) == "0.0%" and sp.fraction_pct(-0.0001) == "0%"
    assert render("{{ v|num:2 }}", v=-0.004) == "0.00"
    # a real negative keeps its sign
    assert sp.num(-0.5, 2) == "-0.50" and sp.num(-1234.5, 1) == "-1,234.5"
    # thousands separators in every filter
    assert render("{{ v|num:0 }}", v=30890) == "30,890"
    assert sp.pct(12345.6) == "12,345.6%" and sp.signed(12345.678, 1) == "+12,345.7"
    assert sp.fraction_pct(123.4) == "12,340%"
