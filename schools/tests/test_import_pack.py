"""The whole real data pack imported once; every expected figure is counted here from the files with `csv`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command

from partnerships.models import Membership, Partnership
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

CODES = {"SUPP", "NP", "NE", "NA", "LOWCOV", "X", "SUPPMAT", "NELIG"}


def rows(path: Path, encoding: str = "utf-8-sig") -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as fh:
        return list(csv.DictReader(fh))


def pct(s: str) -> float:
    return float(s.strip().rstrip("%"))


@pytest.fixture(scope="module")
def imported(pack_dir: Path, django_db_setup: object, django_db_blocker: object) -> Iterator[dict[str, str]]:
    """Import the pack once for this module; empty the test database again afterwards for other modules."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        out = io.StringIO()
        call_command("import", "--all", "--source", str(pack_dir), stdout=out, stderr=io.StringIO())
    yield {"summary": out.getvalue()}
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        call_command("flush", "--noinput", verbosity=0)


pytestmark = [pytest.mark.pack, pytest.mark.django_db]


def test_register_counts(pack_dir: Path, imported: dict[str, str]) -> None:
    spine = {int(r["URN"]) for r in rows(pack_dir / "register/england_spine_2017-2018.csv")}
    gias = {int(r["urn"]) for r in rows(pack_dir / "register/gias_2024-06-17_basic.csv")}
    assert School.objects.filter(urn__in=spine).count() == len(spine) == 26078
    # plus the academies of the MAT files that neither register holds, created from the MAT files
    mat_only = set(School.objects.filter(source="mat-files").values_list("urn", flat=True))
    assert School.objects.count() == len(spine | gias) + len(mat_only) and not mat_only & (spine | gias)
    assert len(mat_only) == 108
    closed_in_spine_only = {
        int(r["URN"]) for r in rows(pack_dir / "register/england_spine_2017-2018.csv") if r["ICLOSE"] == "2"
    } - gias
    assert set(School.objects.filter(urn__in=closed_in_spine_only).values_list("status", flat=True)) <= {
        "closed"
    }
    la_codes = {int(r["LEA"]) for r in rows(pack_dir / "register/la_and_region_codes_meta.csv")}
    spine_las = {int(r["LA"]) for r in rows(pack_dir / "register/england_spine_2017-2018.csv")}
    assert spine_las <= set(LocalAuthority.objects.values_list("code", flat=True))
    assert {909, 928} <= spine_las - la_codes
    assert LocalAuthority.objects.get(code=909).region_name and LocalAuthority.objects.get(code=928).retired
    assert not School.objects.filter(urn__in=spine, region_name="").exists()
    links = rows(pack_dir / "register/links_edubasealldata20250422.csv", "cp1252")
    assert SchoolLink.objects.count() == len({(r["URN"], r["LinkURN"], r["LinkType"]) for r in links})


def test_ks2_2019_readprog_counts(pack_dir: Path, imported: dict[str, str]) -> None:
    cells = [r["READPROG"].strip() for r in rows(pack_dir / "performance/england_ks2final_2018-19.csv")]
    values = [c for c in cells if c and c.upper() not in CODES]
    codes = [c for c in cells if c.upper() in CODES]
    stored = Result.objects.filter(year=2019, measure="READPROG")
    assert stored.filter(value__isnull=False).count() == len(values)
    assert stored.filter(value__isnull=True).count() == len(codes)
    assert stored.filter(value__isnull=True, note="SUPP").count() == codes.count("SUPP")
    assert not stored.filter(value=0, note__gt="").exists()


def test_mislabelled_columns_for_a_known_school(pack_dir: Path, imported: dict[str, str]) -> None:
    r = next(r for r in rows(pack_dir / "performance/ks2_perf_2016.csv") if r["URN"] == "100000")
    got = {x.measure: x.value for x in Result.objects.filter(school_id=100000, year=2016)}
    assert got["GPS_AVERAGE"] == float(r["Writing Score"])
    assert got["PTGPS_EXP"] == pct(r["Writing Meet Std"]) and got["PTGPS_HIGH"] == pct(
        r["Writing Exceed Std"]
    )
    k4 = next(
        r
        for r in rows(pack_dir / "performance/ks4_perf_2016.csv")
        if r["Eng Maths Grade 5"] not in ("", "0%")
    )
    got4 = {x.measure: x.value for x in Result.objects.filter(school_id=int(k4["URN"]), year=2016)}
    assert got4["PTL2BASICS_LL_PTQ_EE"] == pct(k4["Eng Maths Grade 5"])
    assert got4["PTEBACC_PTQ_EE"] == pct(k4["EBacc Grade 5"])
    assert not Result.objects.filter(year=2016, measure__in=["PTL2BASICS_95", "PTEBACC_95"]).exists()
    assert Result.objects.filter(year=2017, measure="PTL2BASICS_95").exists()


def test_percent_and_na_in_census(pack_dir: Path, imported: dict[str, str]) -> None:
    c25 = {r["URN"]: r for r in rows(pack_dir / "census/england_census_2024-25.csv")}
    assert c25["100000"]["PNORG"].endswith("%")
    rec = CensusRecord.objects.get(school_id=100000, year=2025)
    assert rec.pct_girls == pct(c25["100000"]["PNORG"]) and rec.nor == int(c25["100000"]["NOR"])
    assert c25["100001"]["NUMFSMEVER"] == "NA" and c25["100001"]["NUMEAL"] == ""
    rec1 = CensusRecord.objects.get(school_id=100001, year=2025)
    assert rec1.fsm_ever is None and rec1.eal is None
    known = set(School.objects.values_list("urn", flat=True))
    expected = sum(1 for u in c25 if u != "NAT" and int(u) in known)
    assert CensusRecord.objects.filter(year=2025).count() == expected
    c19 = [r for r in rows(pack_dir / "census/england_census_2018-19.csv") if r["URN"] != "NAT"]
    assert CensusRecord.objects.filter(year=2019).count() == len(c19)
    run = ImportRun.objects.get(path__endswith="england_census_2024-25.csv")
    # when the census was imported, the academies later created from the MAT files were unknown
    register = set(School.objects.exclude(source="mat-files").values_list("urn", flat=True))
    at_import = sum(1 for u in c25 if u != "NAT" and int(u) in register)
    assert run.rejected == {"unknown URN": len(c25) - 1 - at_import}  # the 3 NAT rows share one dict key


def test_coordinates_prefer_the_2024_25_file(pack_dir: Path, imported: dict[str, str]) -> None:
    new = {r["URN"]: r for r in rows(pack_dir / "geo/england_school_coords_2024-25.csv") if r["LAT"]}
    old = {r["URN"]: r for r in rows(pack_dir / "performance/england_ks2final_2018-19.csv") if r["LATITUDE"]}
    both = next(
        u for u in sorted(new) if u in old and abs(float(new[u]["LAT"]) - float(old[u]["LATITUDE"])) > 1e-4
    )
    s = School.objects.get(urn=int(both))
    assert s.latitude == float(new[both]["LAT"]) and s.coord_source == "england_school_coords_2024-25.csv"
    secondary = {
        str(o["urn"]) for o in json.loads((pack_dir / "performance/ks4_2024-25_secondary.json").read_text())
    }
    only_old = next(u for u in sorted(old) if u not in new and u not in secondary)
    s = School.objects.get(urn=int(only_old))
    assert s.latitude == float(old[only_old]["LATITUDE"]) and s.coord_source == "england_ks2final_2018-19.csv"
    assert str(s.coord_as_of) == "2019-08-31"


def test_ofsted_history_and_latest(pack_dir: Path, imported: dict[str, str]) -> None:
    ofsted = rows(pack_dir / "ofsted/ofsted_ratings_2018.csv")
    distinct = {(r["URN"], r["Inspection Date"], r["Rating"]) for r in ofsted}
    assert Inspection.objects.count() == len(distinct) == len(ofsted) - 2
    assert Inspection.objects.filter(school_id=137699, date="2013-12-04").count() == 2
    latest: dict[str, str] = {}
    for r in ofsted:
        latest[r["URN"]] = max(latest.get(r["URN"], ""), r["Inspection Date"])
    s = School.objects.get(urn=100000)
    assert s.ofsted_date is not None and s.ofsted_date.strftime("%Y%m%d") == latest["100000"]


def test_trusts_and_memberships(pack_dir: Path, imported: dict[str, str]) -> None:
    ks2 = rows(pack_dir / "trusts/england_ks2-mats-performance_2024-25.csv")
    ks4 = rows(pack_dir / "trusts/england_ks4-mats-performance_2024-25.csv")
    ids = {r["TRUST_ID"] for r in ks2 + ks4}
    assert Partnership.objects.filter(kind="mat").count() == len(ids)
    known = set(School.objects.values_list("urn", flat=True))
    pairs = {
        (r["TRUST_ID"], int(u))
        for r in ks2 + ks4
        for u in r["INSTITUTIONS_INMAT"].split(";")
        if u and int(u) in known
    }
    assert Membership.objects.filter(left__isnull=True).count() == len(pairs)
    abbey = Partnership.objects.get(external_id="TR00261")
    assert abbey.companies_house_number == "7318714" and abbey.lead_region == "East Midlands"


def test_national_averages(imported: dict[str, str]) -> None:
    assert NationalAverage.objects.get(year=2019, measure="P8MEA").value == 0.0
    rwm = NationalAverage.objects.get(year=2018, measure="PTRWM_EXP")
    assert 60 < (rwm.value or 0) < 70 and "weighted by TELIG" in rwm.method  # DfE published 64% for 2018
    assert rwm.schools > 14000


def test_summary_and_skip(pack_dir: Path, imported: dict[str, str]) -> None:
    assert "refused" in imported["summary"] and " 0 refused" in imported["summary"]
    out = io.StringIO()
    call_command("import", str(pack_dir / "ofsted/ofsted_ratings_2018.csv"), stdout=out, stderr=io.StringIO())
    assert "already imported, skipped" in out.getvalue()


def test_spine_workbook_equals_the_csv(pack_dir: Path, imported: dict[str, str]) -> None:
    """The .xlsx spine is read with openpyxl as the same kind; over the CSV's rows it changes nothing."""
    out = io.StringIO()
    call_command(
        "import", str(pack_dir / "register/2017-2018_england_spine.xlsx"), stdout=out, stderr=io.StringIO()
    )
    line = next(x for x in out.getvalue().splitlines() if "england_spine.xlsx" in x)
    # Only schools whose newest register source is still the spine change: register_source names the workbook.
    spine = {int(r["URN"]) for r in rows(pack_dir / "register/england_spine_2017-2018.csv")}
    gias = {int(r["urn"]) for r in rows(pack_dir / "register/gias_2024-06-17_basic.csv")}
    n = len(spine - gias)
    assert "[spine]" in line and f"read 26,078, inserted 0, updated {n}, unchanged {26078 - n:,}" in line
    assert School.objects.filter(register_source="2017-2018_england_spine.xlsx").count() == n


def test_whole_pack_again_with_force_changes_nothing(pack_dir: Path, imported: dict[str, str]) -> None:
    counts = {
        m.__name__: m.objects.count()
        for m in (
            School,
            Result,
            CensusRecord,
            Inspection,
            SchoolLink,
            Partnership,
            Membership,
            NationalAverage,
            LocalAuthority,
        )
    }
    out = io.StringIO()
    call_command("import", "--all", "--source", str(pack_dir), "--force", stdout=out, stderr=io.StringIO())
    total = next(x for x in out.getvalue().splitlines() if x.startswith("Total:"))
    assert "inserted 0, updated 0," in total and " 0 refused" in total
    assert counts == {
        m.__name__: m.objects.count()
        for m in (
            School,
            Result,
            CensusRecord,
            Inspection,
            SchoolLink,
            Partnership,
            Membership,
            NationalAverage,
            LocalAuthority,
        )
    }
