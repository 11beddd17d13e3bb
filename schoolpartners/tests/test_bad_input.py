"""Issue 10: bad input is a clear 4xx, never a 500 (SQLite and PostgreSQL).

Integers beyond 64 bits in every URL with an int segment and every integer parameter of the API; NUL bytes
in query strings, form fields and JSON bodies; control characters in text fields; the forms' shared bounds."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest
from django import forms
from django.urls import URLPattern

from accounts.tests.factories import UserFactory
from schoolpartners import exports
from schoolpartners.api import api
from schoolpartners.params import MAX_DB_INT, BoundedIntConverter, HardenedForm, is_id, query_int
from schoolpartners.tests.test_access import all_patterns
from schools.tests.factories import PartnershipFactory, SchoolFactory

HUGE = (2**63, 10**20)
INT_SEGMENT = re.compile(r"<(int|id):(\w+)>")


def _no_server_error(client: Any, method: str, url: str, **kwargs: Any) -> Any:
    client.raise_request_exception = False
    response = getattr(client, method)(url, **kwargs)
    assert response.status_code < 500, (method, url, response.status_code)
    return response


# ------------------------------------------------------------------------------------------------ integers
def test_no_url_uses_the_unbounded_int_converter():
    unbounded = [route for route, _ in all_patterns() if "<int:" in route]
    assert unbounded == []


def _int_routes() -> list[str]:
    return [route for route, p in all_patterns() if INT_SEGMENT.search(route) and isinstance(p, URLPattern)]


def test_every_int_url_segment_is_walked():
    assert len(_int_routes()) >= 8


@pytest.mark.django_db
@pytest.mark.parametrize("value", HUGE)
def test_every_url_with_an_int_segment_refuses_huge_numbers(client, value):
    SchoolFactory()
    client.force_login(UserFactory(username="staffer", password=None, is_staff=True))
    for route in _int_routes():
        url = "/" + INT_SEGMENT.sub(str(value), route)
        for method in ("get", "post"):
            response = _no_server_error(client, method, url)
            assert response.status_code == 404 or method == "post", url


def _openapi_int_parameters() -> list[tuple[str, str, str, str, dict[str, Any]]]:
    out = []
    for path, ops in api.get_openapi_schema()["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                schema = p.get("schema", {})
                ints = [t for t in [schema, *schema.get("anyOf", [])] if t.get("type") == "integer"]
                if ints:
                    out.append((method, path, p["name"], p["in"], ints[0]))
    return out


def test_every_integer_parameter_of_the_api_is_bounded():
    params = _openapi_int_parameters()
    assert len(params) >= 40
    unbounded = [(m, path, name) for m, path, name, _, s in params if s.get("maximum", 2**64) > MAX_DB_INT]
    assert unbounded == []


@pytest.mark.django_db
@pytest.mark.parametrize("value", HUGE)
def test_every_integer_parameter_of_the_api_refuses_huge_numbers(client, value):
    school = SchoolFactory()
    client.force_login(UserFactory(username="staffer", password=None, is_staff=True))
    for method, path, name, where, _ in _openapi_int_parameters():
        if where == "path":
            url = re.sub(r"\{\w+\}", str(school.urn), path.replace(f"{{{name}}}", str(value)))
            query = ""
        else:
            url = re.sub(r"\{\w+\}", str(school.urn), path)
            query = "?" + urlencode({name: value})
        kwargs = {"data": {}, "content_type": "application/json"} if method == "post" else {}
        response = _no_server_error(client, method, url + query, **kwargs)
        assert response.status_code in (404, 422), (method, url + query, response.status_code)
        assert response["Content-Type"] == "application/problem+json"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/schools?q=school&page=99999999999999999999",
        "/api/schools?q=school&page=922337203685477580",
        "/api/partnerships/trusts?page=922337203685477580",
        "/api/partnerships/trusts/9223372036854775808",
        "/api/schools/9223372036854775808/family",
        "/schools/?trust=99999999999999999999",
        "/schools/?page=99999999999999999999",
        "/schools/?page=922337203685477580",
        "/trusts/?page=922337203685477580",
        "/trusts/?page=99999999999999999999&min_members=99999999999999999999",
        "/trusts/9223372036854775808/",
        "/schools/99999999999999999999/",
        "/schools/{urn}/similar/?run=99999999999999999999",
        "/evaluation/?run=99999999999999999999",
        "/partnerships/grant/?grant=99999999999999999999",
        "/partnerships/grant/?grant=%C2%B2",
        "/partnerships/join/?school=99999999999999999999&trust=99999999999999999999",
        "/api/partnerships/grant?urns=99999999999999999999",
        "/api/partnerships/grant?urns=%C2%B2",
        "/trusts/?min_members=99999999999999999999",
        "/partnerships/issp/?urn=99999999999999999999",
        "/api/partnerships/issp?urn=99999999999999999999&miles=5",
        "/api/schools?q=99999999999999999999",
        "/schools/?q=99999999999999999999",
        "/api/schools?q=%C2%B2",
        "/schools/?la=%C2%B2",
    ],
)
def test_reported_integer_overflows(client, url):
    school = SchoolFactory()
    PartnershipFactory()
    client.force_login(UserFactory(username="staffer", password=None, is_staff=True))
    response = _no_server_error(client, "get", url.format(urn=school.urn))
    assert response.status_code in (200, 400, 404, 422)


def test_bounded_converter_and_query_int():
    c = BoundedIntConverter()
    assert c.to_python(str(MAX_DB_INT)) == MAX_DB_INT
    with pytest.raises(ValueError):
        c.to_python(str(MAX_DB_INT + 1))
    assert query_int(str(MAX_DB_INT)) == MAX_DB_INT
    assert query_int(str(MAX_DB_INT + 1)) is None
    assert query_int("0") is None and query_int("x") is None and query_int(None) is None
    assert is_id("0") and is_id(str(MAX_DB_INT))
    assert not is_id(str(MAX_DB_INT + 1)) and not is_id("\u00b2") and not is_id("") and not is_id("-1")


# ------------------------------------------------------------------------------------------------ NUL bytes
@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/schools?q=ab%00cd",
        "/api/evaluation/effects?event_type=%00",
        "/api/partnerships/designations?region=%00",
        "/api/partnerships/issp?la=%00",
        "/api/support/activities?region=%00",
        "/api/partnerships/trusts?q=%00",
    ],
)
def test_nul_in_an_api_query_is_a_400_problem(client, url):
    SchoolFactory()
    response = _no_server_error(client, "get", url)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "NUL" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/trusts/?q=ab%00cd",
        "/schools/?q=%00",
        "/partnerships/designations/?region=%00",
        "/partnerships/issp/?la=%00",
        "/trusts/?q%00=1",
    ],
)
def test_nul_in_a_page_query_is_a_govuk_400_page(client, url):
    SchoolFactory()
    response = _no_server_error(client, "get", url)
    assert response.status_code == 400
    page = response.content.decode()
    assert "govuk-heading-l" in page and "NUL" in page


@pytest.mark.django_db
def test_nul_in_a_urlencoded_form_is_a_400(client):
    response = client.post(
        "/accounts/login/", "username=a%00b&password=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["ab\x00cd", "bell\x07", "esc\x1b", "c1\x85"])
def test_json_strings_with_control_characters_are_refused(client, value):
    client.force_login(UserFactory(username="staffer", password=None, is_staff=True))
    body = {"kind": "sle", "valid_from": "2024-09-01", "person_name": "Ann", "nested": [{"x": value}]}
    response = client.post("/api/partnerships/designations", body, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "nested", 0, "x"]


@pytest.mark.django_db
@pytest.mark.parametrize("value", HUGE)
def test_json_integers_beyond_64_bits_are_refused(client, value):
    client.force_login(UserFactory(username="staffer", password=None, is_staff=True))
    body = {"kind": "sle", "valid_from": "2024-09-01", "school_urn": value}
    response = client.post("/api/partnerships/designations", body, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "school_urn"]


@pytest.mark.django_db
def test_json_text_with_tabs_and_line_breaks_is_fine(client):
    client.force_login(UserFactory(username="staffer", password=None, is_staff=True))
    body = {"kind": "sle", "valid_from": "2024-09-01", "person_name": "Ann\tLee", "expertise": "a\r\nb"}
    assert (
        client.post("/api/partnerships/designations", body, content_type="application/json").status_code < 300
    )


# ------------------------------------------------------------------------------------------------ forms
def _form_classes() -> list[type[forms.BaseForm]]:
    import brokerage.forms
    import partnerships.forms
    import schools.forms
    import support.forms

    out = []
    for module in (brokerage.forms, partnerships.forms, schools.forms, support.forms):
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, forms.BaseForm)
                and obj.__module__ == module.__name__
            ):
                out.append(obj)
    return out


def test_every_form_is_hardened():
    classes = _form_classes()
    assert len(classes) >= 10
    assert [c.__name__ for c in classes if not issubclass(c, HardenedForm)] == []


def test_hardened_form_bounds_integers_and_refuses_control_characters():
    class F(HardenedForm):
        n = forms.IntegerField()
        small = forms.IntegerField(min_value=1, max_value=5)
        text = forms.CharField(widget=forms.Textarea)

    assert F({"n": str(MAX_DB_INT), "small": "2", "text": "a\r\n\tb"}).is_valid()
    f = F({"n": str(MAX_DB_INT + 1), "small": "6", "text": "a\x07"})
    assert not f.is_valid() and set(f.errors) == {"n", "small", "text"}
    assert F({"n": str(-MAX_DB_INT - 1), "small": "1", "text": "x"}).errors.keys() == {"n"}


# ------------------------------------------------------------------------------------------------ exports
def test_xlsx_cells_drop_illegal_characters_before_the_formula_guard():
    from io import BytesIO

    from openpyxl import load_workbook

    rows = [{"a": "\x07=1+1", "b": "ok\x00\x1b text\tand\nlines", "c": 3}]
    data = exports.xlsx_bytes(rows, [("a", "A\x01"), ("b", "B"), ("c", "C")])
    values = list(load_workbook(BytesIO(data)).worksheets[0].iter_rows(values_only=True))
    assert values == [("A", "B", "C"), ("'=1+1", "ok text\tand\nlines", 3)]
