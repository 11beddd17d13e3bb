"""The DfE July 2014 survey figures beside the ledger's own on the support report (issue 14, item 7)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.conf import settings

from support import reference
from support.tests.factories import SupportActivityFactory

pytestmark = pytest.mark.django_db

SHARED = Path(settings.BASE_DIR).parent / "shared" / "reference" / reference.FILE


def test_the_bundled_copy_is_the_shared_file_and_its_readme_names_its_hash():
    bundled = reference.path().read_bytes()
    digest = hashlib.sha256(bundled).hexdigest()
    assert digest in (reference.path().parent / "README.md").read_text(encoding="utf-8")
    if SHARED.exists():
        assert SHARED.read_bytes() == bundled
    rows = reference.survey_2014()
    assert len(rows) == bundled.decode().count("\n") - 1
    assert reference.figure("supports_others") == 87.0
    assert reference.figure("supports_others", "rated Outstanding by Ofsted") == 96.0
    assert "converter academies 42%" in reference.split("deploy_sle_lle_nle")


def test_an_empty_ledger_says_what_fills_it_and_shows_the_2014_figures(client):
    page = client.get("/support/report/").content.decode()
    assert 'id="report-empty"' in page
    for url in ("/brokerage/deployments/", "/support/record/", "/support/import/"):
        assert f'href="{url}"' in page
    # every published figure is listed, and the comparable ones sit beside the service's own rows
    assert page.count('<tr class="govuk-table__row"><td class="govuk-table__cell">') >= len(
        reference.survey_2014()
    )
    assert "87%" in page and "no data yet" in page and "July 2014" in page
    csv = b"".join(client.get("/support/report/dfe_survey.csv").streaming_content).decode()
    assert "Joint practice development" in csv and "primary academies" in csv


def test_with_activities_the_service_figure_sits_beside_the_survey(client):
    SupportActivityFactory(support_type="jpd", providers=[SupportActivityFactory().recipient])
    page = client.get("/support/report/").content.decode()
    assert 'id="report-empty"' not in page
    body = b"".join(client.get("/support/report/by_type.csv").streaming_content).decode()
    header, *rows = body.strip().splitlines()
    assert "DfE survey, July 2014 (%)" in header
    jpd = next(r for r in rows if r.startswith('"Joint practice') or r.startswith("Joint practice"))
    assert "72" in jpd and "primary academies 77%" in jpd
