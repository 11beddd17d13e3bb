"""Similarity pages, exports and API on a small synthetic population (Django test client)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from openpyxl import load_workbook

from similarity import services
from similarity.models import SchoolSimilarity, SimilarityRun
from similarity.tests.population import build_population, method_small

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def run() -> SimilarityRun:
    build_population()
    return services.recompute(method_small()).run


def _with_partner(run: SimilarityRun, phase: str = "secondary") -> Any:
    return (
        SchoolSimilarity.objects.filter(run=run, phase=phase, partner__isnull=False)
        .exclude(challenge_pairs=[])
        .select_related("partner")
        .first()
        or SchoolSimilarity.objects.filter(run=run, partner__isnull=False).select_related("partner").first()
    )


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_school_similar_page_shows_family_partner_strengths_and_pairs(
    client: Client, run: SimilarityRun
) -> None:
    sim = _with_partner(run)
    r = client.get(f"/schools/{sim.school_id}/similar/")
    assert r.status_code == 200
    html = r.content.decode()
    assert run.description in html and run.method_hash in html
    assert 'id="family-table"' in html
    for urn, *_ in sim.members:
        assert f"/schools/{urn}/similar/" in html
    assert sim.partner.name in html and 'id="partner-map"' in html and 'data-partner-lat="' in html
    assert 'id="partner-map-text"' in html  # location as text, always
    assert 'id="strengths-table"' in html
    assert re.search(
        r'<svg[^>]+role="img"[^>]+aria-labelledby="strengths-chart-title strengths-chart-desc"', html
    )
    assert sim.challenge_pairs, "the synthetic population has challenge pairs"
    assert 'id="pairs-table"' in html
    for p in sim.challenge_pairs:
        assert f"/schools/{p['urn']}/similar/" in html
    for table in ("family", "strengths", "pairs"):
        assert f"/schools/{sim.school_id}/similar/{table}.csv" in html
        assert f"/schools/{sim.school_id}/similar/{table}.xlsx" in html


def test_top_of_family_and_outside_radius(client: Client) -> None:
    build_population()
    run = services.recompute(method_small(radius_miles=2.0)).run  # schools are 3.5 miles apart
    top = SchoolSimilarity.objects.filter(run=run, top_of_family=True).first()
    assert top is not None
    html = client.get(f"/schools/{top.school_id}/similar/").content.decode()
    assert 'data-status="top_of_family"' in html and "Top of family" in html
    far = SchoolSimilarity.objects.filter(run=run, top_of_family=False).first()
    assert far is not None and not far.partner_within_radius
    html = client.get(f"/schools/{far.school_id}/similar/").content.decode()
    assert 'data-status="outside_radius"' in html and "outside the 2-mile radius" in html


def test_family_table_sorts_by_column(client: Client, run: SimilarityRun) -> None:
    sim = _with_partner(run)
    html = client.get(f"/schools/{sim.school_id}/similar/?sort=miles&order=desc").content.decode()
    table = html[html.index('id="family-table"') : html.index("</table>", html.index('id="family-table"'))]
    urns = [int(u) for u in re.findall(r'href="/schools/(\d+)/similar/"', table)]
    by_miles = sorted(sim.members, key=lambda m: (-m[2], m[0]))
    assert [m[2] for m in sorted(sim.members, key=lambda m: urns.index(m[0]))] == [m[2] for m in by_miles]
    assert 'aria-sort="descending"' in table
    # the export follows the same order
    rows = list(
        csv.DictReader(
            io.StringIO(
                _body(
                    client.get(f"/schools/{sim.school_id}/similar/family.csv?sort=miles&order=desc")
                ).decode("utf-8-sig")
            )
        )
    )
    assert (
        int(rows[0]["URN"]) == sim.school_id and rows[0]["Role"] == "This school"
    )  # the school itself first
    assert [int(r["URN"]) for r in rows[1:]] == urns


def test_exports_parse(client: Client, run: SimilarityRun) -> None:
    sim = _with_partner(run)
    base = f"/schools/{sim.school_id}/similar"
    family = list(csv.DictReader(io.StringIO(_body(client.get(f"{base}/family.csv")).decode("utf-8-sig"))))
    own, members = family[0], family[1:]
    assert (
        own["Rank (0: this school)"] == "0"
        and own["Role"] == "This school"
        and int(own["URN"]) == sim.school_id
    )
    assert len(members) == 8 and members[0]["Rank (0: this school)"] == "1" and "% FSM ever 6" in members[0]
    assert [int(r["URN"]) for r in members] == [m[0] for m in sim.members]
    assert [r["Role"] == "Suggested partner" for r in members] == [
        m[0] == sim.partner_id for m in sim.members
    ]
    assert sum(r["Role"] == "Suggested partner" for r in members) == 1
    assert {r["Phase"] for r in family} == {sim.phase.capitalize()}
    assert all(
        r["Run and method"].startswith(f"Run {run.pk} (")
        and "Each school's family is the" in r["Run and method"]
        for r in family
    )
    assert "Latest Ofsted judgement" in own
    strengths = list(
        csv.DictReader(io.StringIO(_body(client.get(f"{base}/strengths.csv")).decode("utf-8-sig")))
    )
    assert {r["Measure code"] for r in strengths} == set(sim.strengths)
    assert {r["Strength or weakness"] for r in strengths} <= {"strength", "weakness", "none"}
    pairs = list(csv.DictReader(io.StringIO(_body(client.get(f"{base}/pairs.csv")).decode("utf-8-sig"))))
    assert len(pairs) == len(sim.challenge_pairs)
    for table in ("family", "strengths", "pairs"):
        r = client.get(f"{base}/{table}.xlsx")
        assert r.status_code == 200
        ws = load_workbook(io.BytesIO(r.content)).active
        assert (
            ws.max_row
            == 1 + {"family": 9, "strengths": len(sim.strengths), "pairs": len(sim.challenge_pairs)}[table]
        )
    cov = list(csv.DictReader(io.StringIO(_body(client.get("/similarity/coverage.csv")).decode("utf-8-sig"))))
    assert len(cov) == 60 and {r["Rule"] for r in cov} == {"default", "robust"}
    ws = load_workbook(io.BytesIO(client.get("/similarity/coverage.xlsx").content)).active
    assert ws.max_row == 61
    assert client.get(f"{base}/family.pdf").status_code == 404


def test_coverage_runs_and_methodology_pages(client: Client, run: SimilarityRun) -> None:
    html = client.get("/similarity/coverage/").content.decode()
    assert run.description in html and 'id="coverage-table"' in html
    assert 'id="regions-primary-table"' in html and "West Midlands" in html and "London" in html
    assert re.search(
        r'<svg[^>]+role="img"[^>]+aria-labelledby="coverage-chart-title coverage-chart-desc"', html
    )
    for f in run.coverage.filter(region="", robust=False):
        assert f"{f.percent:.1f}%" in html
    html = client.get("/similarity/runs/").content.decode()
    assert run.description in html and "Current" in html
    html = client.get("/similarity/methodology/").content.decode()
    assert "Better-performing partner" in html and "<table" in html and "PNUMFSMEVER" in html


def test_pages_pick_a_stored_run(client: Client, run: SimilarityRun) -> None:
    other = services.recompute(method_small(family_size=4), make_current=False).run
    sim = _with_partner(run)
    html = client.get(f"/schools/{sim.school_id}/similar/?run={other.pk}").content.decode()
    assert other.description in html and "not the current run" in html
    table = html[html.index('id="family-table"') : html.index("</table>", html.index('id="family-table"'))]
    assert len(re.findall(r"<tr class=\"govuk-table__row\">", table)) == 1 + 4
    assert f"?run={other.pk}" in html  # links keep the run
    assert 'id="run-select"' in html and f'<option value="{other.pk}" selected>' in html
    assert other.description in client.get(f"/similarity/coverage/?run={other.pk}").content.decode()
    assert client.get(f"/schools/{sim.school_id}/similar/?run=999999").status_code == 404
    assert client.get("/similarity/coverage/?run=abc").status_code == 404


def test_school_page_summary_links_to_similar_page(client: Client, run: SimilarityRun) -> None:
    sim = _with_partner(run)
    html = client.get(f"/schools/{sim.school_id}/").content.decode()
    assert 'id="similarity-summary"' in html
    assert f"/schools/{sim.school_id}/similar/" in html
    assert sim.partner.name in html
    for urn, *_ in sim.members[:3]:
        assert f'href="/schools/{urn}/"' in html


def test_pages_without_results(client: Client) -> None:
    build_population(primary=3, secondary=0)
    assert client.get("/schools/200000/similar/").status_code == 200  # no run yet: explains how to compute
    assert "No similar-schools results" in client.get("/similarity/coverage/").content.decode()
    assert client.get("/schools/200000/similar/family.csv").status_code == 404
    assert client.get("/schools/424242/similar/").status_code == 404
    services.recompute(method_small(family_size=1))
    html = client.get("/schools/209999/similar/").content.decode()  # not in the population
    assert 'id="no-similarity"' in html
    assert 'id="similarity-summary"' in client.get("/schools/209999/").content.decode()


# ----------------------------------------------------------------------------------------------------------------
# API
# ----------------------------------------------------------------------------------------------------------------
def _run_fields(data: dict, run: SimilarityRun) -> None:
    assert data["run"]["run_id"] == run.pk
    assert data["run"]["method_hash"] == run.method_hash
    assert data["run"]["method_description"] == run.description


def test_api_school_endpoints(client: Client, run: SimilarityRun) -> None:
    sim = _with_partner(run)
    urn = sim.school_id
    fam = client.get(f"/api/schools/{urn}/family").json()
    _run_fields(fam, run)
    assert [m["urn"] for m in fam["family"]] == [m[0] for m in sim.members]
    assert fam["family"][0]["rank"] == 1 and "PNUMFSMEVER" in fam["family"][0]["features"]
    partner = client.get(f"/api/schools/{urn}/partner").json()
    _run_fields(partner, run)
    assert partner["partner"]["school"]["urn"] == sim.partner_id
    assert partner["partner"]["status"] in {"within_radius", "outside_radius"}
    assert partner["radius_miles"] == 75
    strengths = client.get(f"/api/schools/{urn}/strengths").json()
    _run_fields(strengths, run)
    assert {s["measure"] for s in strengths["strengths"]} == set(sim.strengths)
    pairs = client.get(f"/api/schools/{urn}/challenge-pairs").json()
    _run_fields(pairs, run)
    assert [p["urn"] for p in pairs["pairs"]] == [p["urn"] for p in sim.challenge_pairs]
    for path in ("family", "partner", "strengths", "challenge-pairs"):
        r = client.get(f"/api/schools/209999/{path}")
        assert r.status_code == 404 and "detail" in r.json()
        assert client.get(f"/api/schools/{urn}/{path}?run=999999").status_code == 404


def test_api_coverage_and_runs(client: Client, run: SimilarityRun) -> None:
    data = client.get("/api/similarity/coverage").json()
    _run_fields(data, run)
    assert len(data["figures"]) == 60
    one = client.get("/api/similarity/coverage?phase=primary&region=England&radius=75&robust=false").json()
    assert len(one["figures"]) == 1
    f = run.coverage.get(phase="primary", region="", radius_miles=75, robust=False)
    assert one["figures"][0]["covered"] == f.covered and one["figures"][0]["percent"] == pytest.approx(
        f.percent
    )
    london = client.get("/api/similarity/coverage?region=London").json()["figures"]
    assert london and all(x["region"] == "London" for x in london)
    runs = client.get("/api/similarity/runs").json()
    assert runs[0]["run_id"] == run.pk and runs[0]["is_current"] is True


def test_api_without_runs(client: Client) -> None:
    assert client.get("/api/similarity/coverage").status_code == 404
    assert client.get("/api/similarity/runs").json() == []


def test_api_operations_state_the_public_policy(client: Client) -> None:
    schema = client.get("/api/openapi.json").json()
    paths = [
        p
        for p in schema["paths"]
        if "similarity" in p or p.endswith(("/family", "/partner", "/strengths", "/challenge-pairs"))
    ]
    assert len(paths) == 6
    for p in paths:
        assert "Public: anyone may read; read-only." in schema["paths"][p]["get"]["description"]


def test_method_in_plain_words_with_column_names_only_under_how_it_is_worked_out(
    client: Client, run: SimilarityRun
) -> None:
    sim = _with_partner(run)
    html = client.get(f"/schools/{sim.school_id}/similar/").content.decode()
    words = html[html.index('id="method-words"') : html.index("</p>", html.index('id="method-words"'))]
    assert "free school meals" in words and "miles as the crow flies" in words
    for jargon in ("PNUMFSMEVER", "SD-standardised", "R=", "Euclidean"):
        assert jargon not in words
    technical = html[html.index("How this is worked out (column names") :]
    assert "PNUMFSMEVER" in technical[: technical.index("</details>")]
