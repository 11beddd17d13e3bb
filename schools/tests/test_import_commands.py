"""`schoolpartners import` against small files: malformed corpus, atomicity, idempotency, order independence."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from partnerships.models import Membership, Partnership, PartnershipResult
from schools.importers import db
from schools.models import (
    CensusRecord,
    ImportRun,
    Inspection,
    LocalAuthority,
    NationalAverage,
    Result,
    School,
    SchoolLink,
)

MALFORMED = Path(__file__).resolve().parent / "malformed"

SPINE_HEADER = (
    "URN,LA,ESTAB,LAESTAB,SCHNAME,OTHERSCHNAME,STREET,LOCALITY,ADDRESS3,TOWN,POSTCODE,TELNUM,ICLOSE,OPENDATE,"
    "CLOSEDATE,ISNEW,MINORGROUP,NFTYPE,OTHERNFTYPE,ISPRIMARY,ISSECONDARY,ISPOST16,AGEL,AGEH,GENDER,SIXFGENDER,"
    "RELDENOM,ADMPOL,OTHERURN,NEWACFLAG,RE-BROKERED"
)
FILES: dict[str, str] = {
    "la_and_region_codes_meta.csv": "LEA,LA Name,REGION,REGION NAME\r\n201,City of London,32,London East\r\n"
    "941,West Northamptonshire,16,East Midlands B\r\n",
    "england_spine_2017-2018.csv": SPINE_HEADER + "\n"
    "100000,201,3614,2013614,Sir John Cass's Foundation Primary School,,St James's Passage,Duke's Place,,London,EC3A 5DE,"
    "02072831147,1,,,0,Maintained School,Voluntary aided school,,1,0,0,3,11,Mixed,Mixed,Church of England,Not recorded,,6,0\n"
    "100001,201,6005,2016005,City of London School for Girls,,St Giles' Terrace,Barbican,,London,EC2Y 8BB,02078475500,1,,,"
    "0,Independent School,Other independent school,,1,1,1,7,18,Girls,Girls,None,Not recorded,,6,0\n"
    "121000,928,2001,9282001,Old Northants School,,High St,,,Northampton,NN1 1AA,01604000000,2,2016-09-01,2019-08-31,0,"
    "Academy,Academy - Converter mainstream,,0,1,1,11,18,Mixed,Mixed,None,Non-selective,,6,0\n",
    "gias_2024-06-17_basic.csv": "urn,name,local_authority_name,phase_of_education,gender,status\r\n"
    "100000,The Aldgate School,City of London,Primary,Mixed,Open\r\n"
    "100001,City of London School for Girls,City of London,Not applicable,,Open\r\n"
    "150000,Brand New Academy,West Northamptonshire,Secondary,Mixed,Proposed to open\r\n",
    "links_edubasealldata20250422.csv": '"URN","LinkURN","LinkName","LinkType","LinkEstablishedDate"\r\n'
    '"100000","999999","Ecole \u00e0 Londres","Predecessor","01-09-2012"\r\n"121000","150000","Brand New Academy","Successor",""\r\n',
    "ks2_perf_2016.csv": "URN,KS2 Pupils,KS2 Boys,KS2 Girls,Reading Progress,Reading Score,Reading Meet Std,Reading Exceed Std,"
    "Reading Progress Band,Reading Progress Desc,Writing Progress,Writing Score,Writing Meet Std,Writing Exceed Std,"
    "Writing Progress Band,Writing Progress Desc,Maths Progress,Maths Score,Maths Meet Std,Maths Exceed Std,"
    "Maths Progress Band,Maths Progress Desc,Overall Meet Std,Overall Exceed Std,Academic Year\r\n"
    "100000,28,16,12,2.7,106,93%,18%,,,2.2,107,96%,18%,,,LOWCOV,106,100%,18%,,,89%,7%,2016\r\n"
    "777777,10,5,5,1,100,50%,10%,,,1,100,50%,10%,,,1,100,50%,10%,,,50%,5%,2016\r\n",
    "england_census_2024-25.csv": "\ufeffURN,LA,Estab,SCHOOLTYPE,NOR,NORG,NORB,PNORG,PNORB,TSENELSE,PSENELSE,TSENELK,PSENELK,"
    "NUMEAL,NUMENGFL,NUMUNCFL,PNUMEAL,PNUMENGFL,PNUMUNCLF,NUMFSM,NUMFSMEVER,NORFSMEVER,PNUMFSMEVER\r\n"
    "100000,201,3614,State-funded primary,249,112,137,44.98%,55.02%,12,4.82%,45,18.07%,150,99,0,60.20%,39.80%,0,58,52,209,24.88%\r\n"
    "100001,201,6005,Independent school,780,780,0,100.00%,0.00%,0,0.00%,99,12.69%,,,,,,,,NA,NA,0.00%\r\n"
    "NAT,,PRI,State-funded primary,1,1,0,100%,0%,0,0%,0,0%,0,0,0,0%,0%,0%,0,0,0,0%\r\n",
    "england_school_coords_2024-25.csv": "URN,SCHNAME,POSTCODE,ISPRIMARY,ISSECONDARY,LAT,LON\r\n"
    "100000,The Aldgate School,EC3A 5DE,1,0,51.513664,-0.07746\r\n",
    "england_ks2final_2018-19.csv": "RECTYPE,URN,SCHNAME,PCODE,PCODE2,TOWN,READPROG,READPROG_DESCR,WRITPROG,WRITPROG_DESCR,"
    "MATPROG,MATPROG_DESCR,LATITUDE,LONGITUDE\r\n"
    "1,100000,Sir John Cass,EC3A 5DE,EC3A,London,SUPP,SUPP,2.3,3,-1,4,51.6,-0.1\r\n"
    "1,100001,CLSG,EC2Y 8BB,EC2Y,London,1.5,2,,,0.5,3,51.519129,-0.094509\r\n",
    "ofsted_ratings_2018.csv": "URN,Rating,Inspection Date\r\n100000,Outstanding,20130418\r\n100000,Good,20080926\r\n"
    "100000,Outstanding,20130418\r\n100001,Satisfactory,20131204\r\n100001,Requires Improvement,20131204\r\n"
    "888888,Good,20100101\r\n",
    "england_ks2-mats-performance_2024-25.csv": "TIME_PERIOD,TIME_IDENTIFIER,TRUST_GROUP_TYPE,TRUST_NAME,TRUST_UID,TRUST_ID,"
    "TRUST_COMPANIES_HOUSE_NUMBER,TRUST_UKPRN,TRUST_LEADREGION,INSTITUTIONS_MATPTINC,NUMINST_MATPTINC,TELIG_MATPTINC,"
    "PRWM_EXP_WGTAVG,INSTITUTIONS_INMAT,NUMINST_INMAT\r\n"
    "202425,AcademicYear,Multi-academy trust,ABBEY ACADEMIES TRUST,2044,TR00261,7318714,10058308,East Midlands,"
    "100000,1,137,74%,100000;150000;123456,3\r\n"
    "202425,AcademicYear,Multi-academy trust,SMALL TRUST,2046,TR00002,7705552,10059141,NA,100001,1,SUPPMAT,SUPPMAT,100001,1\r\n",
}


def write_files(folder: Path, names: list[str] | None = None) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, text in FILES.items():
        if names is None or name in names:
            p = folder / name
            p.write_bytes(text.encode("cp1252" if name.startswith("links") else "utf-8"))
            out[name] = p
    return out


def run(*args: str) -> str:
    buf = io.StringIO()
    call_command("import", *args, stdout=buf, stderr=io.StringIO())
    return buf.getvalue()


def table_counts() -> dict[str, int]:
    return {m._meta.label: m._default_manager.count() for m in apps.get_models()}


def summary_line(out: str, name: str) -> str:
    return next(line for line in out.splitlines() if name in line)


def counts_in(line: str) -> dict[str, int]:
    return {
        k: int(v.replace(",", "")) for k, v in re.findall(r"(read|inserted|updated|unchanged) ([\d,]+)", line)
    }


@pytest.fixture
def loaded(tmp_path: Path) -> Path:
    folder = tmp_path / "pack"
    write_files(folder)
    run("--all", "--source", str(folder))
    return folder


# ------------------------------------------------------------------ malformed corpus

MALFORMED_CASES = [
    ("ofsted_wrong_header.csv", 1, "Rating", "URN,Grade,Inspection Date", "missing required column"),
    ("ofsted_truncated_row.csv", 4, "Inspection Date", "100002,Good", "truncated row"),
    ("ofsted_extra_field.csv", 3, "(after 'Inspection Date')", "100001,Good,20120101,x", "4 fields"),
    ("coords_bad_number_2024-25.csv", 3, "LAT", "51.5x", "not a number"),
    ("ofsted_bad_date.csv", 3, "Inspection Date", "20131345", "not a valid date"),
    ("coords_duplicate_urn_2024-25.csv", 4, "URN", "100000", "duplicate URN"),
    ("ofsted_wrong_encoding.csv", 3, "Rating", "Good\\x81", "neither UTF-8 nor Windows-1252"),
    ("ofsted_empty.csv", 1, "(header)", "", "empty file"),
    ("ofsted_binary_junk.csv", 3, "Rating", "\\x00\\x9c\\xffPK\\x03\\x04", "binary data"),
    ("ks4_2024-25_secondary_bad.json", "record 2", "metrics.att8_score", "fifty", "not a number"),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("name", "line", "column", "value", "problem"), MALFORMED_CASES)
def test_malformed_file_is_refused_and_nothing_changes(
    loaded: Path, name: str, line: int | str, column: str, value: str, problem: str
) -> None:
    before = table_counts()
    assert before["schools.School"] > 0 and before["schools.Result"] > 0
    with pytest.raises(CommandError) as exc:
        run(str(MALFORMED / name))
    where = f"line {line}" if isinstance(line, int) else line
    expected = f"{name}, {where}, column {column!r}: "
    message = str(exc.value)
    assert expected in message, message
    assert f"(value {value!r})" in message, message
    assert problem in message
    assert table_counts() == before  # not one row written, not even an ImportRun or audit event


@pytest.mark.django_db(transaction=True)
def test_failure_while_writing_rolls_back_the_whole_file(
    loaded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = table_counts()
    calls = {"n": 0}
    real_insert = db.insert

    def failing_insert(table: str, df: object) -> int:
        calls["n"] += 1
        real_insert(table, df)  # type: ignore[arg-type]
        raise RuntimeError("disk full")

    monkeypatch.setattr(db, "insert", failing_insert)
    newer = loaded.parent / "ofsted_ratings_2019.csv"
    newer.write_text("URN,Rating,Inspection Date\n100000,Good,20190101\n100001,Good,20190101\n")
    with pytest.raises(RuntimeError):
        run(str(newer))
    assert calls["n"] == 1  # the new inspections were inserted, then the write failed...
    assert table_counts() == before  # ...and the whole file was rolled back
    assert School.objects.get(urn=100000).ofsted_date.isoformat() == "2013-04-18"  # type: ignore[union-attr]


# ------------------------------------------------------------------ idempotency and content


@pytest.mark.django_db(transaction=True)
def test_second_import_skips_and_force_changes_nothing(loaded: Path) -> None:
    before = table_counts()
    out = run("--all", "--source", str(loaded))
    assert "already imported, skipped" in out
    assert table_counts() == before
    out = run("--all", "--source", str(loaded), "--force")
    for name in FILES:
        c = counts_in(summary_line(out, name))
        assert c["inserted"] == 0 and c["updated"] == 0, (name, c)
    after = table_counts()
    assert after["schools.ImportRun"] == before["schools.ImportRun"] + len(FILES)
    assert after["audit.AuditEvent"] == before["audit.AuditEvent"] + len(FILES)
    assert {k: v for k, v in after.items() if k not in ("schools.ImportRun", "audit.AuditEvent")} == {
        k: v for k, v in before.items() if k not in ("schools.ImportRun", "audit.AuditEvent")
    }


@pytest.mark.django_db(transaction=True)
def test_codes_percentages_and_mislabelled_columns(loaded: Path) -> None:
    r = {x.measure: x for x in Result.objects.filter(school_id=100000, year=2016)}
    assert r["GPS_AVERAGE"].value == 107  # "Writing Score" is GPS
    assert r["PTGPS_EXP"].value == 96 and r["PTGPS_HIGH"].value == 18
    assert r["PTRWM_EXP"].value == 89.0  # "89%"
    assert r["MATPROG"].value is None and r["MATPROG"].note == "LOWCOV"
    assert "READPROG_BAND" not in r  # blank cell: no row
    assert not Result.objects.filter(measure__icontains="WRIT", measure__endswith="AVERAGE").exists()
    k = {x.measure: x for x in Result.objects.filter(school_id=100000, year=2019)}
    assert k["READPROG"].value is None and k["READPROG"].note == "SUPP"
    assert k["WRITPROG_BAND"].value == 3 and k["WRITPROG_BAND"].text == "Average"
    c = CensusRecord.objects.get(school_id=100000, year=2025)
    assert (c.pct_girls, c.nor, c.pct_fsm_ever, c.nor_fsm_ever) == (44.98, 249, 24.88, 209)
    c1 = CensusRecord.objects.get(school_id=100001, year=2025)
    assert c1.fsm_ever is None and c1.eal is None and c1.pct_eal is None  # NA and blank are NULL, never 0
    assert c1.pct_boys == 0.0
    assert not CensusRecord.objects.filter(school_type="", year=2025).exists()
    run_row = ImportRun.objects.get(path__endswith="ks2_perf_2016.csv")
    assert run_row.rejected == {"unknown URN": 1} and run_row.ok
    assert AuditEvent.objects.filter(action="import", object_id=str(run_row.pk)).exists()


@pytest.mark.django_db(transaction=True)
def test_register_la_links_ofsted_and_trusts(loaded: Path) -> None:
    s = School.objects.get(urn=100000)
    assert s.name == "The Aldgate School"  # GIAS 2024 is newer than the spine
    assert s.street == "St James's Passage" and s.laestab == 2013614  # spine-only fields kept
    assert s.postcode_district == "EC3A" and s.type_group == "maintained" and s.region_name == "London East"
    g = School.objects.get(urn=100001)
    assert g.gender == "Girls"  # a blank GIAS gender does not wipe the spine's
    assert g.phase == "not_applicable" and g.type_group == "independent"
    old = School.objects.get(urn=121000)
    assert (
        old.status == "closed" and old.la_name == "Northamptonshire" and old.region_name == "East Midlands B"
    )
    assert LocalAuthority.objects.get(code=909).retired
    # the search index followed the import (in its transaction): punctuation-insensitive, from the index
    from schools.queries import SearchParams, search_page

    found, total = search_page(SearchParams(q="the aldgate"))
    assert total == 1 and [x.urn for x in found] == [100000] and s.search_name == "the aldgate school"
    new = School.objects.get(urn=150000)
    assert new.status == "proposed_to_open" and new.la_code == 941 and new.phase == "secondary"
    link = SchoolLink.objects.get(urn=100000)
    assert (
        link.link_urn == 999999
        and link.link_name == "Ecole à Londres"
        and str(link.established) == "2012-09-01"
    )
    assert Inspection.objects.filter(school_id=100000).count() == 2  # the exact duplicate collapsed
    assert Inspection.objects.filter(school_id=100001).count() == 2  # same date, two ratings: both kept
    assert (s.ofsted_rating, str(s.ofsted_date)) == ("Outstanding", "2013-04-18")
    assert g.ofsted_rating == "Requires Improvement"  # same-date tie after Sept 2012
    t = Partnership.objects.get(kind="mat", external_id="TR00261")
    assert (t.name, t.uid, t.companies_house_number, t.lead_region) == (
        "ABBEY ACADEMIES TRUST",
        "2044",
        "7318714",
        "East Midlands",
    )
    # 123456 is not in the register: created from the MAT file (partnerships/academies.py)
    assert sorted(Membership.objects.filter(partnership=t).values_list("school_id", flat=True)) == [
        100000,
        123456,
        150000,
    ]
    assert School.objects.get(urn=123456).source == "mat-files"
    assert str(Membership.objects.filter(partnership=t).first().as_of) == "2025-08-31"  # type: ignore[union-attr]
    assert Partnership.objects.get(external_id="TR00002").lead_region == ""
    pr = {p.measure: p for p in PartnershipResult.objects.filter(partnership=t)}
    assert pr["KS2_PRWM_EXP_WGTAVG"].value == 74.0 and pr["KS2_PRWM_EXP_WGTAVG"].year == 2025
    supp = PartnershipResult.objects.get(partnership__external_id="TR00002", measure="KS2_TELIG_MATPTINC")
    assert supp.value is None and supp.note == "SUPPMAT"
    nat = NationalAverage.objects.get(year=2016, measure="PTRWM_EXP")
    assert nat.value == 89.0 and nat.schools == 1 and "weighted by TELIG" in nat.method
    assert NationalAverage.objects.get(year=2019, measure="WRITPROG").value == 0.0  # value-added
    assert not NationalAverage.objects.filter(
        year=2019, measure="READPROG"
    ).exists()  # SUPP or independent only


@pytest.mark.django_db(transaction=True)
def test_coordinates_prefer_the_newest_source_in_any_order(tmp_path: Path) -> None:
    files = write_files(tmp_path / "p")
    base = [files[n] for n in ("la_and_region_codes_meta.csv", "england_spine_2017-2018.csv")]
    run(*map(str, base))
    run(str(files["england_school_coords_2024-25.csv"]))
    run(str(files["england_ks2final_2018-19.csv"]))  # older: must not overwrite 100000
    a = School.objects.get(urn=100000)
    assert (a.latitude, a.coord_source, str(a.coord_as_of)) == (
        51.513664,
        "england_school_coords_2024-25.csv",
        "2025-08-31",
    )
    b = School.objects.get(urn=100001)  # only in the 2018/19 file
    assert (b.latitude, b.coord_source) == (51.519129, "england_ks2final_2018-19.csv")
    School.objects.update(latitude=None, longitude=None, coord_source="", coord_as_of=None)
    run("--force", str(files["england_ks2final_2018-19.csv"]))
    run("--force", str(files["england_school_coords_2024-25.csv"]))
    assert School.objects.get(urn=100000).latitude == 51.513664


@pytest.mark.django_db(transaction=True)
def test_register_newest_source_wins_whatever_the_order(tmp_path: Path) -> None:
    files = write_files(tmp_path / "p")
    la, spine, gias = (
        str(files[n])
        for n in ("la_and_region_codes_meta.csv", "england_spine_2017-2018.csv", "gias_2024-06-17_basic.csv")
    )
    run(la, spine, gias)
    first = list(School.objects.order_by("urn").values())
    School.objects.all().delete()
    run("--force", gias, spine)
    second = list(School.objects.order_by("urn").values())
    assert first == second


@pytest.mark.django_db(transaction=True)
def test_kind_detection_and_force_kind(tmp_path: Path) -> None:
    p = tmp_path / "my_download.csv"
    p.write_text("URN,Rating,Inspection Date\n100000,Good,20130418\n")
    mystery = tmp_path / "mystery.csv"
    mystery.write_text("A,B\n1,2\n")
    with pytest.raises(CommandError, match="mystery.csv, line 1: the header matches no known file format"):
        run(str(mystery))
    out = run(str(p))  # detected from the header although the name says nothing
    assert "[ofsted]" in out and "unknown URN: 1" in out
    out = run("--kind", "ofsted", "--force", str(p))
    assert "[ofsted]" in out


@pytest.mark.django_db(transaction=True)
def test_spine_xlsx_is_the_same_kind(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "england"
    rows = [r.split(",") for r in FILES["england_spine_2017-2018.csv"].strip().split("\n")]
    for r in rows:
        ws.append(
            [int(v) if v.isdigit() and len(v) < 7 and not v.startswith("0") else (v or None) for v in r]
        )
    p = tmp_path / "2017-2018_england_spine.xlsx"
    wb.save(p)
    out = run(str(p))
    assert "[spine]" in out and counts_in(summary_line(out, p.name))["inserted"] == 3
    assert School.objects.get(urn=100001).telephone == "02078475500"
