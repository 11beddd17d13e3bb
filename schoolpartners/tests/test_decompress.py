"""Bounded decompression (issue 18, row 4: a 45 KB .xz unpacking to 300 MB in the national data upload drove the
job worker past 12 GB, and with 3 attempts it would have run again).

The bombs are made here: 300 MB of zeros in one xz stream (45,896 bytes, as in the report), and cheaper ones
of concatenated streams/members (each a valid file that `xz -d` / `gzip -d` unpack whole)."""

from __future__ import annotations

import gzip
import json
import lzma
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from jobs.models import Job, JobState
from schoolpartners import decompress
from schoolpartners.decompress import DecompressionLimit
from schools.importers.reading import Source, StructuralError

ROOT = Path(__file__).resolve().parents[2]
MB = 1024**2


@pytest.fixture(scope="module")
def xz_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 MB of zeros as ONE xz stream, written without ever holding the 300 MB."""
    path = tmp_path_factory.mktemp("bomb") / "england_ks2final_2018-19.csv.xz"
    comp = lzma.LZMACompressor(preset=0)
    zeros = bytes(MB)
    with path.open("wb") as fh:
        for _ in range(300):
            fh.write(comp.compress(zeros))
        fh.write(comp.flush())
    return path


def concatenated(kind: str, total_mb: int) -> bytes:
    one = lzma.compress(bytes(MB), preset=0) if kind == "xz" else gzip.compress(bytes(MB))
    return one * total_mb


def test_the_single_stream_xz_bomb_is_refused_with_little_memory(xz_bomb: Path) -> None:
    """In a fresh process: Source.open refuses the bomb; the process's peak resident size (VmHWM, reset just before
    the read) grows by less than 60 MB, and Python's own allocations (tracemalloc) peak under 30 MB. (The report's
    `lzma.decompress` took the whole 300 MB, and the worker more than 12 GB.)"""
    assert xz_bomb.stat().st_size < 100_000  # 45,896 bytes that claim 300 MB
    code = f"""
import json, re, time, tracemalloc, django
django.setup()
from pathlib import Path
from schools.importers.reading import Source, StructuralError

def status(field):
    return int(re.search(field + r":\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) * 1024

with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # Linux: reset the peak resident size (VmHWM) to the resident size now
before = status("VmHWM")
tracemalloc.start()
t = time.perf_counter()
try:
    Source.open(Path({str(xz_bomb)!r}))
    message = "accepted"
except StructuralError as exc:
    message = str(exc)
seconds = time.perf_counter() - t
peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({{"message": message, "python_peak": peak, "seconds": seconds,
                  "rss_growth": status("VmHWM") - before}}))
"""
    env = {"DJANGO_SETTINGS_MODULE": "schoolpartners.settings", "PYTHONPATH": str(ROOT)}
    import os

    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "decompression bomb" in result["message"] and xz_bomb.name in result["message"]
    assert result["python_peak"] < 30 * MB
    assert result["rss_growth"] < 60 * MB
    print(
        f"xz bomb refused in {result['seconds']:.3f} s; peak rss +{result['rss_growth'] / MB:.1f} MB, "
        f"python peak {result['python_peak'] / MB:.1f} MB"
    )


@pytest.mark.parametrize("kind", ["xz", "gz"])
def test_concatenated_bombs_are_refused(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"gias_2024-06-17_basic.csv.{kind}"
    path.write_bytes(concatenated(kind, 300))
    with pytest.raises(StructuralError, match="decompression bomb"):
        Source.open(path)


def test_the_size_cap_holds_for_a_file_that_compresses_normally(tmp_path: Path, settings: Any) -> None:
    settings.DECOMPRESS_MAX_BYTES = 2 * MB
    data = b"".join(f"{i},school {i},town {i % 97}\n".encode() for i in range(200_000))  # ~5 MB, ~10x
    path = tmp_path / "big.csv.xz"
    path.write_bytes(lzma.compress(data, preset=0))
    with pytest.raises(DecompressionLimit, match="more than 2,097,152 bytes"):
        decompress.read(path)
    settings.DECOMPRESS_MAX_BYTES = 64 * MB
    assert decompress.read(path) == data


def test_every_bundle_file_reads_as_before() -> None:
    for path in sorted((ROOT / "data" / "bundle").glob("*.xz")):
        assert decompress.read(path) == lzma.decompress(path.read_bytes()), path.name


def test_damaged_and_truncated_files_are_clear_errors(tmp_path: Path) -> None:
    good = lzma.compress(b"urn,name\n1,A\n" * 1000)
    for name, data in (
        ("cut.csv.xz", good[:-20]),
        ("junk.csv.xz", b"not xz at all, just text"),
        ("e.csv.xz", b""),
    ):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(StructuralError) as err:
            Source.open(tmp_path / name)
        assert name in str(err.value)
    gz = tmp_path / "cut.csv.gz"
    gz.write_bytes(gzip.compress(b"urn,name\n1,A\n" * 1000)[:-12])
    with pytest.raises(StructuralError, match="cut.csv.gz"):
        Source.open(gz)


def test_gzip_inputs_read_like_xz(tmp_path: Path) -> None:
    data = b"urn,name\n" + b"".join(f"{i},School {i}\n".encode() for i in range(5000))
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(data[:20000]) + gzip.compress(data[20000:]))
    src = Source.open(tmp_path / "a.csv.gz")
    assert src.name == "a.csv" and src.data == data


# --- jobs: a file over a cap fails its job at once, never retried ---------------------------------------------
@pytest.fixture
def keep_signals() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for s, h in saved.items():
        signal.signal(s, h)


def run_worker() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", "--no-reload", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_an_uploaded_bomb_fails_its_job_once_and_is_not_retried(client: Any, keep_signals: None) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.tests.factories import UserFactory
    from schools.models import ImportRun

    client.force_login(UserFactory(is_staff=True))
    bomb = SimpleUploadedFile("england_ks2final_2018-19.csv.xz", concatenated("xz", 300))
    response = client.post("/imports/upload/", {"file": bomb})
    assert response.status_code == 302
    run_worker()
    job = Job.objects.get()
    assert (job.state, job.attempts) == (JobState.FAILED, 1), job.message
    assert "decompression bomb" in job.message and not ImportRun.objects.exists()
    run_worker()  # nothing queued again
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.FAILED, 1)


@pytest.mark.django_db(transaction=True)
def test_a_job_stopped_by_a_cap_is_not_retried(keep_signals: None, settings: Any) -> None:
    from jobs.tests.tasks import flaky_job
    from schoolpartners import jobs

    settings.JOB_RETRY_BACKOFF_SECONDS = 0
    job = jobs.create("test.job", owner=None, title="bomb", payload=json.dumps({"bomb": True}).encode())
    job = jobs.enqueue(job, flaky_job)
    run_worker()
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.FAILED, 1)
    assert job.error == {
        "detail": "bomb.csv.xz: refused as a possible decompression bomb",
        "file": "bomb.csv.xz",
    }
