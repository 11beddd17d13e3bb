"""Issue 18, row 8: a 4,900-row support import (just under the old 5,000-row threshold) ran 29.3 s inside the
request, against gunicorn's 30 s timeout. Over SUPPORT_IMPORT_JOB_ROWS (500) rows it is a background job."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from support.importer import should_run_as_job
from support.tests.test_import_limits import HEADER

pytestmark = pytest.mark.django_db


def csv_file(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / f"{rows}.csv"
    path.write_text(HEADER + "".join(f"{100000 + i},,100002,jpd,2017-09-01,,,\n" for i in range(rows)))
    return path


def test_the_row_threshold_keeps_long_imports_out_of_the_request(tmp_path: Path) -> None:
    assert settings.SUPPORT_IMPORT_JOB_ROWS == 500
    assert should_run_as_job(csv_file(tmp_path, 4900))
    assert should_run_as_job(csv_file(tmp_path, 501))
    assert not should_run_as_job(csv_file(tmp_path, 500))
