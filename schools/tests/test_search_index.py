"""The search index (schools/search.py, schools/finder.py) on the database under test (SQLite FTS5 or
PostgreSQL full text): punctuation-insensitive matching, ranking, counts and the index kept in step."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from schools import search
from schools.finder import index_count
from schools.models import School
from schools.queries import SearchParams, filter_schools, search_page
from schools.tests.factories import SchoolFactory

pytestmark = pytest.mark.django_db


def names(q: str, **kw: object) -> list[str]:
    page, _ = search_page(SearchParams(q=q, **kw))  # type: ignore[arg-type]
    return [s.name for s in page]


def test_normalise_drops_case_accents_apostrophes_and_punctuation() -> None:
    assert search.normalise("St Mary\u2019s C.of E. (Aided) — Bishop's-Stortford Ecole Ä") == (
        "st marys c of e aided bishops stortford ecole a"
    )
    assert search.normalise("") == "" and search.normalise(None) == ""


def test_punctuation_variants_find_the_school(client) -> None:
    SchoolFactory(urn=140001, name="St Mary's Catholic High School", town="Chesterfield", postcode="S40 4AA")
    SchoolFactory(urn=140002, name="St Mark's Primary School", town="Leeds", postcode="LS1 1AA")
    for q in (
        "st marys catholic high",
        "St. Marys Catholic High",
        "ST MARY'S CATHOLIC",
        "st mary\u2019s high",
    ):
        assert names(q) == ["St Mary's Catholic High School"], q
    body = client.get("/api/schools", {"q": "st marys catholic high"}).json()
    assert [r["urn"] for r in body["results"]] == [140001] and body["count"] == 1
    page = client.get("/schools/", {"q": "st marys catholic high"})
    assert "St Mary&#x27;s Catholic High School" in page.content.decode()
    assert "St Mark" not in page.content.decode()


def test_words_match_word_starts_in_name_town_and_postcode_district() -> None:
    SchoolFactory(
        urn=140011, name="Oakfield Academy", town="Hull", postcode="HU5 3DL", postcode_district="HU5"
    )
    SchoolFactory(
        urn=140012, name="Hullbridge School", town="Essex", postcode="SS5 1AA", postcode_district="SS5"
    )
    SchoolFactory(
        urn=140013, name="Oak Tree School", town="Hull", postcode="HU50 1AA", postcode_district="HU50"
    )
    assert names("oak hull") == ["Oak Tree School", "Oakfield Academy"]
    assert names("HU5") == ["Oakfield Academy"]  # a district matches whole words only, not HU50
    assert names("akfield") == []  # word starts, not substrings
    assert names("!!!") == [] and names("zzzz") == []


def test_exact_urn_postcode_and_name_come_first() -> None:
    SchoolFactory(urn=140021, name="Aardvark Oak School", postcode="M1 1AA", postcode_district="M1")
    SchoolFactory(urn=140022, name="Oak School", postcode="M1 2BB", postcode_district="M1")
    SchoolFactory(urn=140023, name="Oak School Annexe", postcode="M1 3CC", postcode_district="M1")
    assert names("oak school") == ["Oak School", "Aardvark Oak School", "Oak School Annexe"]
    assert names("Oak-School!") == ["Oak School", "Aardvark Oak School", "Oak School Annexe"]
    assert names("140023") == ["Oak School Annexe"]
    assert names("m1 2bb") == ["Oak School"]
    # an explicit other order is kept
    assert names("oak school", sort="name", descending=True) == [
        "Oak School Annexe",
        "Oak School",
        "Aardvark Oak School",
    ]


@pytest.mark.parametrize("small", [2000, 5])  # 5: the broad path (index walk) with these 31 matches
def test_broad_query_pages_put_the_exact_name_first_and_count_from_the_index(monkeypatch, small) -> None:
    monkeypatch.setattr("schools.finder.SMALL_RESULT", small)
    for i in range(30):
        SchoolFactory(urn=140100 + i, name=f"Abbey {i:02d} Primary School", phase="primary")
    SchoolFactory(urn=140200, name="Primary School", phase="secondary")
    params = SearchParams(q="primary school", page_size=10)
    assert index_count(params) == 31 == filter_schools(params).count()
    seen: list[str] = []
    for page in (1, 2, 3, 4):
        p, total = search_page(SearchParams(q="primary school", page_size=10, page=page))
        assert total == 31
        seen += [s.name for s in p]
    assert seen[0] == "Primary School" and len(seen) == len(set(seen)) == 31
    assert names("primary", phase="secondary") == ["Primary School"]  # filters still apply


def test_la_and_region_names_still_match_their_schools() -> None:
    SchoolFactory(urn=140301, name="Alpha School", la_name="Kingston upon Hull, City of", town="Hull")
    SchoolFactory(urn=140302, name="Beta School", la_name="Leeds", region_name="Yorkshire and the Humber")
    assert names("Kingston upon Hull, City of") == ["Alpha School"]
    assert "Beta School" in names("Yorkshire and the Humber")


def test_index_follows_saves_updates_and_deletes() -> None:
    school: School = SchoolFactory(urn=140401, name="Old Name School")  # type: ignore[assignment]
    assert names("old name") == ["Old Name School"]
    school.name = "Brand New Academy"
    school.save(update_fields=["name"])
    assert names("old name") == [] and names("brand new") == ["Brand New Academy"]
    # a write that bypasses save() (as the importers' set-based writes do) is caught up by refresh()
    School.objects.filter(urn=140401).update(name="Third Name College")
    assert search.refresh() == 1
    assert names("third name") == ["Third Name College"] and names("brand new") == []
    School.objects.filter(urn=140401).delete()
    assert names("third name") == []
    assert search.rebuild() == 0


def test_search_page_query_count_is_bounded(client) -> None:
    for i in range(60):
        SchoolFactory(urn=140500 + i, name=f"Bounded {i:02d} School")
    for q in ("bounded", "bounded school", "140510", ""):
        client.get("/schools/", {"q": q})  # warm per-process caches (filter options)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/schools/", {"q": q}).status_code == 200
        assert len(ctx.captured_queries) <= 6, [c["sql"][:120] for c in ctx.captured_queries]
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/schools", {"q": q}).status_code == 200
        assert len(ctx.captured_queries) <= 6, [c["sql"][:120] for c in ctx.captured_queries]


def test_reindex_command_repairs_a_database_written_behind_the_index() -> None:
    from io import StringIO

    from django.core.management import call_command

    SchoolFactory(urn=140601, name="Before School")
    School.objects.filter(urn=140601).update(name="After School", search_name="", search_text="")
    assert names("after") == []
    out = StringIO()
    call_command("reindex_search", stdout=out)
    assert "1 schools' search text changed" in out.getvalue()
    assert names("after") == ["After School"]
