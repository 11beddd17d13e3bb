"""Hostile uploads (issue 10): every limit answers a clear 413/422 fast, in little memory, and writes nothing.

The hostile files are built here: a 131,073-character cell, files over the size limit, an XLSX of 3 million
rows (its sheet XML written straight into a zip, a few hundred KB) and a zip bomb."""

from __future__ import annotations

import io
import resource
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.tests.factories import UserFactory
from audit.models import AuditEvent
from schools.tests.factories import (
    SchoolFactory,
    empty_database,  # noqa: F401 - fixture
)
from support.importer import ImportFailed, import_file
from support.models import SupportActivity

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]

HEADER = "provider_urns,system_leader,recipient_urn,support_type,start_date,end_date,days,outcome\n"
ROW = "100001,,100002,jpd,2017-09-01,,,\n"
MB = 1024 * 1024


def new_user(**kw: Any) -> Any:
    return UserFactory(**kw)


@pytest.fixture(autouse=True)
def schools() -> None:
    for u in (100001, 100002):
        SchoolFactory(urn=u, establishment_type="Academy - Converter mainstream")


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(new_user(username="staff", is_staff=True))
    return client


@contextmanager
def bounded(seconds: float, megabytes: float) -> Iterator[None]:
    """The block must finish within `seconds` and raise the process's peak memory (max RSS) by at most
    `megabytes` (the audit saw +280 MB for a zip bomb and 1.08 GB for 3 million rows)."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    t0 = time.monotonic()
    yield
    took = time.monotonic() - t0
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert took < seconds, f"took {took:.1f}s"
    assert grew < megabytes, f"peak memory grew {grew:.0f} MB"


def nothing_written() -> bool:
    return (
        not SupportActivity.objects.exists()
        and not AuditEvent.objects.filter(action="support.import").exists()
    )


def api_upload(client: Client, name: str, data: bytes) -> Any:
    return client.post("/api/support/import", {"file": SimpleUploadedFile(name, data)})


def page_upload(client: Client, name: str, data: bytes) -> Any:
    return client.post("/support/import/", {"file": SimpleUploadedFile(name, data)})


# ------------------------------------------------------------------------------------------- xlsx builders
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)


def _cells(values: list[str]) -> str:
    return "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in values)


def xlsx(rows: int, sheet_padding: int = 0, distinct: int = 0) -> bytes:
    """A workbook of a header and `rows` identical activity rows, the sheet XML streamed into the zip (never
    held whole); the first `distinct` rows differ (each another provider); `sheet_padding` bytes of blanks
    inside the sheet make a zip bomb."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr("xl/workbook.xml", WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            )
            header = ["recipient_urn", "support_type", "start_date", "provider_urns"]
            sheet.write(f"<row>{_cells(header)}</row>".encode())
            row = f"<row>{_cells(['100002', 'jpd', '2017-09-01', '100001'])}</row>".encode()
            chunk = 10_000
            for done in range(0, rows, chunk):
                if done < distinct:
                    sheet.write(
                        b"".join(
                            f"<row>{_cells(['100002', 'jpd', '2017-09-01', str(900000 + i)])}</row>".encode()
                            for i in range(done, min(done + chunk, rows))
                        )
                    )
                else:
                    sheet.write(row * min(chunk, rows - done))
            blank = b" " * MB
            for _ in range(sheet_padding // MB):
                sheet.write(blank)
            sheet.write(b"</sheetData></worksheet>")
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------- the tests
def test_a_field_over_131072_characters_is_422_naming_file_row_and_column(staff: Client) -> None:
    data = (HEADER + ROW + "100001,,100002,cpd,2017-09-01,,," + "x" * 131_073 + "\n").encode()
    with bounded(seconds=10, megabytes=60):
        r = api_upload(staff, "long.csv", data)
    assert r.status_code == 422, r.content
    body = r.json()
    assert (body["file"], body["row"], body["column"]) == ("long.csv", 3, "outcome")
    assert "longer than 131,072 characters" in body["detail"]
    assert nothing_written()
    r = page_upload(staff, "long.csv", data)
    assert r.status_code == 400 and "longer than 131,072 characters" in r.content.decode()
    assert nothing_written()


def test_a_field_of_exactly_131072_characters_is_accepted(staff: Client) -> None:
    r = api_upload(
        staff, "ok.csv", (HEADER + "100001,,100002,cpd,2017-09-01,,," + "x" * 131_072 + "\n").encode()
    )
    assert r.status_code == 200, r.content
    assert len(SupportActivity.objects.get().outcome) == 131_072


def test_a_request_over_the_size_limit_is_413_before_the_body_is_read(staff: Client, settings: Any) -> None:
    # A body that is not even valid multipart: parsing it would answer 400, so 413 proves it was not parsed.
    size = settings.MAX_REQUEST_BYTES + 1
    for url in ("/api/support/import", "/support/import/"):
        with bounded(seconds=5, megabytes=3 * size / MB + 5):
            r = staff.generic("POST", url, b"x" * size, content_type="multipart/form-data; boundary=nothing")
        assert r.status_code == 413, (url, r.status_code)
    assert r["Content-Type"].startswith("text/html") and "too large" in r.content.decode()
    r = staff.generic(
        "POST", "/api/support/import", b"x" * size, content_type="multipart/form-data; boundary=b"
    )
    assert r["Content-Type"] == "application/problem+json" and r.json()["status"] == 413
    assert nothing_written()


def test_a_file_over_support_import_max_bytes_is_413(staff: Client, settings: Any) -> None:
    settings.SUPPORT_IMPORT_MAX_BYTES = 10_000  # the request itself stays under MAX_REQUEST_BYTES
    data = (HEADER + ROW * 400).encode()
    assert len(data) > 10_000
    r = api_upload(staff, "big.csv", data)
    assert r.status_code == 413, r.content
    assert r.json()["file"] == "big.csv" and "largest file accepted" in r.json()["detail"]
    r = page_upload(staff, "big.csv", data)
    assert r.status_code == 413 and "largest file accepted" in r.content.decode()
    assert nothing_written()


def test_more_rows_than_the_limit_is_422_and_stops_reading(staff: Client, settings: Any) -> None:
    settings.SUPPORT_IMPORT_MAX_ROWS = 100
    rows = "".join(f"{900000 + i},,100002,jpd,2017-09-01,,,\n" for i in range(101))
    r = api_upload(staff, "many.csv", (HEADER + rows).encode())
    assert r.status_code == 422 and "more than 100 data rows" in r.json()["detail"]
    assert nothing_written()
    r = api_upload(staff, "ok.csv", (HEADER + "".join(rows.splitlines(keepends=True)[:100])).encode())
    assert r.status_code == 422 and "not a known school URN" in r.json()["detail"]  # 100 rows: all read
    assert nothing_written()


def test_the_default_row_limit_is_50000(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    with path.open("w") as fh:
        fh.write(HEADER)
        for i in range(50_001):
            fh.write(f"{900000 + i},,100002,jpd,2017-09-01,,,\n")
    with pytest.raises(ImportFailed, match="more than 50,000 data rows"):
        import_file(path)
    assert nothing_written()


def test_an_xlsx_of_3_million_rows_is_refused_quickly_in_little_memory(staff: Client) -> None:
    data = xlsx(3_000_000)
    assert len(data) < 3 * MB  # a small upload that unpacks to 3 million rows
    with bounded(seconds=10, megabytes=60):
        r = api_upload(staff, "huge.xlsx", data)
    assert r.status_code == 422, r.content
    assert "zip bomb" in r.json()["detail"] and r.json()["file"] == "huge.xlsx"
    assert nothing_written()


def test_an_xlsx_over_the_row_limit_is_refused_while_streaming(staff: Client, settings: Any) -> None:
    # Archive checks lifted: the row limit alone stops a 3-million-row sheet after 50,000 rows, streamed; its
    # rows are distinct so that no other check stops it first.
    settings.SUPPORT_IMPORT_MAX_UNZIPPED_BYTES = 10**12
    settings.SUPPORT_IMPORT_MAX_ZIP_RATIO = 10**6
    settings.SUPPORT_IMPORT_JOB_ROWS = 10**9  # keep it in the request
    settings.SUPPORT_IMPORT_JOB_BYTES = 10**9
    data = xlsx(3_000_000, distinct=60_000)
    with bounded(seconds=60, megabytes=100):
        r = api_upload(staff, "huge.xlsx", data)
    assert r.status_code == 422, r.content
    assert "more than 50,000 data rows" in r.json()["detail"]
    assert nothing_written()


def test_a_zip_bomb_is_refused_from_the_zip_directory(staff: Client) -> None:
    data = xlsx(1, sheet_padding=60 * MB)
    assert len(data) < MB
    with bounded(seconds=3, megabytes=20):
        r = api_upload(staff, "bomb.xlsx", data)
    assert r.status_code == 422, r.content
    assert "zip bomb" in r.json()["detail"] and "compressed" in r.json()["detail"]
    r = page_upload(staff, "bomb.xlsx", data)
    assert r.status_code == 400 and "zip bomb" in r.content.decode()
    assert nothing_written()


def test_a_small_hand_built_xlsx_imports(staff: Client) -> None:
    r = api_upload(staff, "one.xlsx", xlsx(1))
    assert r.status_code == 200, r.content
    assert r.json()["inserted"] == 1
