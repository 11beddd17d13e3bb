"""Bulk import: header checked first, clear errors naming file/row/column/value, all-or-nothing, idempotent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.tests.factories import UserFactory
from schools.tests.factories import (
    SchoolFactory,
    empty_database,  # noqa: F401 - fixture
)
from support.importer import ImportFailed, import_file
from support.models import ConverterPledge, SupportActivity, SurveyResponse

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]

HEADER = "provider_urns,system_leader,recipient_urn,support_type,start_date,end_date,days,outcome\n"
GOOD = HEADER + (
    "100001,,100002,jpd,2017-09-01,2018-07-20,10,Lesson study in maths\n"
    "100001;100003,,100004,cpd,2017-10-01,,2.5,\n"
    ",Jo Bloggs (NLE),100002,system_leader,2018-01-08,,,\n"
)


@pytest.fixture(autouse=True)
def schools():
    for u in (100001, 100002, 100003, 100004):
        SchoolFactory(urn=u, establishment_type="Academy - Converter mainstream")


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_import_then_reimport_is_idempotent(tmp_path):
    f = write(tmp_path, "acts.csv", GOOD)
    rep = import_file(f)
    assert (rep.kind, rep.rows, rep.inserted) == ("activities", 3, 3)
    assert SupportActivity.objects.count() == 3
    rep = import_file(f)
    assert (rep.inserted, rep.updated, rep.unchanged) == (0, 0, 3)
    changed = write(tmp_path, "acts2.csv", GOOD.replace(",10,", ",11,"))
    assert import_file(changed).updated == 1
    assert SupportActivity.objects.count() == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "provider,recipient_urn,support_type,start_date\n1,2,jpd,2017-01-01\n",
            "row 1, column 1 (provider)",
        ),
        ("urn_x,foo\n", "header matches no import kind"),
        (
            HEADER + "100001,,100002,jpd,2017-13-01,,,\n",
            "row 2, column start_date, value '2017-13-01': is not a date",
        ),
        (
            HEADER + "100001,,100002,jpd,2017-09-01,,,\n100001,,999999,cpd,2017-09-01,,,\n",
            "row 3, column recipient_urn, value '999999': is not a known school URN",
        ),
        (HEADER + "100001,,100002,lessons,2017-09-01,,,\n", "column support_type, value 'lessons'"),
        (HEADER + "100001,,100002,jpd,2017-09-01,,-2,\n", "column days, value '-2': must not be negative"),
        (
            HEADER + "100001,,100002,jpd,2017-09-01,,,\n100001,,100002,jpd,2017-09-01,,,\n",
            "row 3: repeats row 2",
        ),
        ("", "empty"),
    ],
)
def test_malformed_files_name_the_problem_and_write_nothing(tmp_path, text, expected):
    f = write(tmp_path, "bad.csv", text)
    with pytest.raises(ImportFailed) as exc:
        import_file(f)
    assert str(exc.value).startswith("bad.csv")
    assert expected in str(exc.value)
    assert SupportActivity.objects.count() == 0


def test_a_bad_last_row_leaves_the_database_unchanged(tmp_path):
    import_file(write(tmp_path, "ok.csv", GOOD))
    before = list(SupportActivity.objects.order_by("id").values())
    bad = GOOD.replace(",10,", ",20,") + "100001,,100002,jpd,2018-02-30,,,\n"
    with pytest.raises(ImportFailed, match="row 5, column start_date"):
        import_file(write(tmp_path, "bad.csv", bad))
    assert list(SupportActivity.objects.order_by("id").values()) == before


def test_pledges_and_survey_and_xlsx(tmp_path):
    import_file(
        write(tmp_path, "p.csv", "academy_urn,supported_urn,pledge_date,note\n100001,100004,2016-04-01,x\n")
    )
    assert ConverterPledge.objects.count() == 1
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["urn", "survey_year", "supports_others", "support_types", "supported_before_conversion"])
    ws.append([100001, 2014, "yes", "jpd;cpd", "no"])
    ws.append([100002, 2014, "no", "", ""])
    wb.save(tmp_path / "survey.xlsx")
    rep = import_file(tmp_path / "survey.xlsx")
    assert (rep.kind, rep.inserted) == ("survey", 2)
    assert SurveyResponse.objects.get(school_id=100001).support_types == ["jpd", "cpd"]
    ws.append([100003, 2014, "maybe", "", ""])
    wb.save(tmp_path / "survey2.xlsx")
    with pytest.raises(ImportFailed, match="survey2.xlsx, row 4, column supports_others, value 'maybe'"):
        import_file(tmp_path / "survey2.xlsx")
    assert SurveyResponse.objects.count() == 2


def test_command(tmp_path, capsys):
    call_command("support", "import", str(write(tmp_path, "acts.csv", GOOD)))
    assert "3 inserted" in capsys.readouterr().out
    with pytest.raises(CommandError, match="bad.csv, row 2, column start_date"):
        call_command(
            "support", "import", str(write(tmp_path, "bad.csv", HEADER + "100001,,100002,jpd,x,,,\n"))
        )


def test_upload_page_staff_only(tmp_path, client: Client):
    u: Any = UserFactory(username="u", password="pw-123456")
    client.force_login(u)
    assert client.get("/support/import/").status_code == 302
    u.is_staff = True
    u.save()
    with (tmp_path / "acts.csv").open("w") as fh:
        fh.write(GOOD)
    with (tmp_path / "acts.csv").open("rb") as fh:
        r = client.post("/support/import/", {"file": fh})
    assert r.status_code == 200 and b"3 new" in r.content
    with (tmp_path / "bad.csv").open("w") as fh:
        fh.write(HEADER + "100001,,100002,jpd,2017-13-01,,,\n")
    with (tmp_path / "bad.csv").open("rb") as fh:
        r = client.post("/support/import/", {"file": fh})
    assert r.status_code == 400 and b"bad.csv, row 2, column start_date" in r.content
