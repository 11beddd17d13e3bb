"""Complete membership over the real files (REQUIRE_PACK): every academy of the 2024/25 MAT files is a member,
including the 108 the GIAS June 2024 register misses, which are created from the MAT files, the 2024/25 census
and the coordinates file. Expected counts are read here straight from the CSV text."""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from partnerships.models import Membership, Partnership
from schools.models import CensusRecord, ImportRun, School
from schools.tests.test_import_commands import run

FILES = {
    "register": ["la_and_region_codes_meta.csv", "gias_2024-06-17_basic.csv"],
    "geo": ["england_school_coords_2024-25.csv"],
    "census": ["england_census_2024-25.csv"],
    "trusts": ["england_ks2-mats-performance_2024-25.csv", "england_ks4-mats-performance_2024-25.csv"],
}


def _expected(pack: Path) -> dict[str, set[int]]:
    out: dict[str, set[int]] = defaultdict(set)
    for name in FILES["trusts"]:
        with (pack / "trusts" / name).open(encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                out[row["TRUST_ID"]].update(int(u) for u in row["INSTITUTIONS_INMAT"].split(";") if u.strip())
    return out


@pytest.mark.django_db(transaction=True)
def test_member_counts_equal_the_mat_files_for_every_trust(pack_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "pack"
    for sub, names in FILES.items():
        (folder / sub).mkdir(parents=True, exist_ok=True)
        for n in names:
            shutil.copy(pack_dir / sub / n, folder / sub / n)
    run("--all", "--source", str(folder))
    expected = _expected(pack_dir)
    assert len(expected) == 733
    got: dict[str, set[int]] = defaultdict(set)
    for tid, urn in Membership.objects.filter(left__isnull=True).values_list(
        "partnership__external_id", "school_id"
    ):
        got[tid].add(urn)
    assert Partnership.objects.filter(kind="mat").count() == 733
    assert {t: len(u) for t, u in got.items()} == {t: len(u) for t, u in expected.items()}
    assert got == expected
    assert len(got["TR00699"]) == 37  # E-ACT (the page showed 34)
    created = School.objects.filter(source="mat-files")
    gias = set()
    with (pack_dir / "register" / "gias_2024-06-17_basic.csv").open(encoding="utf-8-sig", newline="") as f:
        gias = {int(r["urn"]) for r in csv.DictReader(f)}
    assert set(created.values_list("urn", flat=True)) == set().union(*expected.values()) - gias
    assert created.count() == 108
    dollis = School.objects.get(urn=150999)  # Bellevue Place's missing academy
    assert (dollis.name, dollis.la_name, dollis.postcode) == ("Dollis Primary School", "Barnet", "NW7 2BU")
    assert dollis.latitude is not None and CensusRecord.objects.get(school=dollis, year=2025).nor
    assert 150999 in got["TR00178"]
    # idempotent: importing the MAT files again creates and changes nothing
    before = (School.objects.count(), Membership.objects.count(), CensusRecord.objects.count())
    run("--force", *(str(folder / "trusts" / n) for n in FILES["trusts"]))
    assert (School.objects.count(), Membership.objects.count(), CensusRecord.objects.count()) == before
    last = ImportRun.objects.filter(kind="mat_performance").order_by("-id").first()
    assert last is not None and "academies created from the MAT files" not in last.details
