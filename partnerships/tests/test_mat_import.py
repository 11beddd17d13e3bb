"""The MAT performance files as an importer kind owned by partnerships: the one-open-MAT-per-school seats are
synced in the same transaction as the import (no `partnerships recompute` needed), and a refused or failing MAT
file changes neither memberships nor seats."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError

from partnerships import importers
from partnerships.models import Kind, MatSeat, Membership, Partnership
from schools.importers.kinds import KINDS, guess_from_name
from schools.models import ImportRun, School
from schools.tests.test_import_commands import FILES, run, table_counts, write_files

MAT_HEADER = FILES["england_ks2-mats-performance_2024-25.csv"].split("\r\n")[0]


def open_mat_memberships() -> int:
    return Membership.objects.filter(left__isnull=True, partnership__kind=Kind.MAT).count()


def state() -> tuple[list[tuple[int, int]], list[tuple[int, int]], int]:
    return (
        list(Membership.objects.order_by("id").values_list("partnership_id", "school_id")),
        list(MatSeat.objects.order_by("school_id").values_list("school_id", "membership_id")),
        ImportRun.objects.filter(kind="mat_performance").count(),
    )


@pytest.fixture
def loaded(tmp_path: Path) -> Path:
    folder = tmp_path / "pack"
    write_files(folder)
    run("--all", "--source", str(folder))
    return folder


def test_the_mat_kind_is_registered_by_partnerships() -> None:
    assert KINDS["mat_performance"].prepare is importers.prepare_mat
    assert guess_from_name("england_ks4-mats-performance_2024-25.csv") is KINDS["mat_performance"]


@pytest.mark.django_db(transaction=True)
def test_import_all_seats_every_open_mat_membership_without_recompute(loaded: Path) -> None:
    # TR00261: 100000, 150000 and 123456 (not in the register: created from the MAT file); TR00002: 100001
    assert open_mat_memberships() == 4
    assert MatSeat.objects.count() == open_mat_memberships()
    assert {(s.school_id, s.membership.partnership.external_id) for s in MatSeat.objects.all()} == {
        (100000, "TR00261"),
        (150000, "TR00261"),
        (123456, "TR00261"),
        (100001, "TR00002"),
    }
    run_ = ImportRun.objects.get(kind="mat_performance")
    assert run_.details["MAT seats"]["created"] == 4
    created = School.objects.get(urn=123456)
    assert (
        created.source == "mat-files"
        and created.register_source == "england_ks2-mats-performance_2024-25.csv"
    )
    assert run_.details["academies created from the MAT files"]["created"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_later_mat_file_seats_its_new_members_in_the_same_import(loaded: Path) -> None:
    later = loaded.parent / "england_ks4-mats-performance_2025-26.csv"
    later.write_text(
        MAT_HEADER + "\n202526,AcademicYear,Multi-academy trust,NEW TRUST,3001,TR00003,1,2,London,121000,1,"
        "50,60%,121000,1\n"
    )
    run(str(later))
    assert Partnership.objects.filter(external_id="TR00003").exists()
    assert MatSeat.objects.count() == open_mat_memberships() == 5
    assert MatSeat.objects.get(school_id=121000).membership.partnership.external_id == "TR00003"


@pytest.mark.django_db(transaction=True)
def test_a_refused_mat_file_changes_neither_memberships_nor_seats(loaded: Path) -> None:
    before, counts = state(), table_counts()
    bad = loaded.parent / "england_ks4-mats-performance_2025-26.csv"
    bad.write_text(
        MAT_HEADER + "\n202526,AcademicYear,Multi-academy trust,NEW TRUST,3001,TR00003,1,2,London,121000,1,"
        "50,60%,121000,1\n202526,AcademicYear,Multi-academy trust,AGAIN,3002,TR00003,1,2,London,,0,,,,0\n"
    )
    with pytest.raises(CommandError, match="duplicate TRUST_ID"):
        run(str(bad))
    assert state() == before
    assert table_counts() == counts


@pytest.mark.django_db(transaction=True)
def test_a_mat_file_failing_in_the_seat_sync_rolls_back_its_memberships(
    loaded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, counts = state(), table_counts()
    real_sync = importers.sync_mat_seats

    def failing_sync() -> object:
        real_sync()  # memberships and the new seat are written...
        assert MatSeat.objects.filter(school_id=121000).exists()
        raise RuntimeError("disk full")  # ...then the import fails

    monkeypatch.setattr(importers, "sync_mat_seats", failing_sync)
    later = loaded.parent / "england_ks4-mats-performance_2025-26.csv"
    later.write_text(
        MAT_HEADER + "\n202526,AcademicYear,Multi-academy trust,NEW TRUST,3001,TR00003,1,2,London,121000,1,"
        "50,60%,121000,1\n"
    )
    with pytest.raises(RuntimeError, match="disk full"):
        run(str(later))
    assert state() == before  # the whole file was rolled back: no membership, no seat, no ImportRun
    assert table_counts() == counts
    assert not Partnership.objects.filter(external_id="TR00003").exists()
