"""Benchmark `schoolpartners import`: the whole data pack into a fresh SQLite file and a fresh PostgreSQL
database, against a plain Django import of one file (batched `bulk_create` upserts) measured in the same run.

    .venv/bin/python bench/bench_import.py [--pack DIR] [--pg postgres://postgres@127.0.0.1:5432] [--sample 4000]
                                           [--skip-postgres]

1. Full pack, per backend: a fresh database (SQLite: a temporary file; PostgreSQL: scratch database
   `$BENCH_PG_DB`, default `schoolpartners_bench`, dropped and re-created), `schoolpartners migrate` (not timed), then the wall time of
   `schoolpartners import --all --source <pack>` run as a subprocess: what a user waits for, Python start-up
   included.
2. Baseline, per backend, on england_ks2final_2018-19.csv (the KS2 2018/19 school file): into a database holding
   only the register (LA codes, spine, GIAS), time (a) our importer on that file, in-process, and (b) the plain
   Django way: csv.DictReader, one `Result` object per result cell, upserted in batches of --batch rows with
   `Result.objects.bulk_create(update_conflicts=True, unique_fields=[school, year, measure])`, all inside ONE
   transaction. The baseline runs on the first --sample result rows (0, the default: the whole file); its
   per-row time x the file's result rows is its estimate. Ratio = baseline estimate / ours.

Prints the figures and writes bench/results/import.json. Each database step runs in a child process with its
own DATABASE_URL, so this script sets everything itself.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PY = sys.executable
CLI = str(Path(PY).with_name("schoolpartners"))
BENCH_DB = os.environ.get("BENCH_PG_DB", "schoolpartners_bench")  # dropped and re-created
NAIVE_FILE = "performance/england_ks2final_2018-19.csv"
REGISTER = [
    "register/la_and_region_codes_meta.csv",
    "register/england_spine_2017-2018.csv",
    "register/gias_2024-06-17_basic.csv",
]


def env_for(url: str) -> dict[str, str]:
    env = dict(
        os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="schoolpartners.settings", SQLITE_NO_PERSIST="1"
    )
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def sh(args: list[str], url: str, *, capture: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, env=env_for(url), text=True, capture_output=capture, check=True)


def pg_recreate(admin_url: str) -> str:
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DB)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB)))
    return f"{admin_url}/{BENCH_DB}"


def pg_drop(admin_url: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DB)))


def _backend_cpu(dbname: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving `dbname` (read from /proc)."""
    out: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes()
            if b"postgres" not in cmd or dbname.encode() not in cmd:
                continue
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            out[int(d.name)] = (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            continue
    return out


def full_import(url: str, pack: Path) -> dict[str, Any]:
    """Wall time of the CLI import, plus CPU seconds (client process, and the PostgreSQL backend when used):
    CPU time hardly depends on what else the machine runs, wall time does."""
    sh([CLI, "migrate", "--noinput", "-v", "0"], url)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [CLI, "import", "--all", "--source", str(pack)],
        cwd=ROOT,
        env=env_for(url),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    backend: dict[int, float] = {}
    while proc.poll() is None:
        if url.startswith("postgres"):
            backend.update(_backend_cpu(BENCH_DB))
        time.sleep(0.1)
    seconds = time.perf_counter() - t0
    stdout = proc.stdout.read() if proc.stdout else ""
    if proc.returncode:
        raise SystemExit(f"import failed:\n{stdout}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    total = next((line for line in stdout.splitlines() if line.startswith("Total:")), "")
    counts = json.loads(sh([PY, __file__, "--step", "counts"], url).stdout)
    return {
        "seconds": round(seconds, 2),
        "client_cpu_seconds": round(client_cpu, 2),
        "server_cpu_seconds": round(sum(backend.values()), 2) if backend else None,
        "load_average_at_start": load,
        "summary_total": total,
        "rows": counts,
    }


def baseline(url: str, pack: Path, sample: int, batch_size: int) -> dict[str, Any]:
    sh([CLI, "migrate", "--noinput", "-v", "0"], url)
    sh([CLI, "import", *[str(pack / f) for f in REGISTER]], url)
    out = sh(
        [
            PY,
            __file__,
            "--step",
            "baseline",
            "--pack",
            str(pack),
            "--sample",
            str(sample),
            "--batch",
            str(batch_size),
        ],
        url,
    )
    return json.loads(out.stdout)


# ----------------------------------------------------------------------------- child steps (Django set up)


def step_counts() -> None:
    import django

    django.setup()
    from django.apps import apps

    print(
        json.dumps(
            {
                m._meta.label: m._default_manager.count()
                for m in apps.get_models()
                if m._meta.app_label in ("schools", "partnerships")
            }
        )
    )


def step_baseline(pack: Path, sample: int, batch_size: int) -> None:
    import csv

    import django

    django.setup()
    from django.db import connection, transaction

    from schools.importers.runner import import_file
    from schools.models import Result

    path = pack / NAIVE_FILE
    year, measures = (
        2019,
        [
            ("READPROG", "READPROG"),
            ("READPROG_DESCR", "READPROG_BAND"),
            ("WRITPROG", "WRITPROG"),
            ("WRITPROG_DESCR", "WRITPROG_BAND"),
            ("MATPROG", "MATPROG"),
            ("MATPROG_DESCR", "MATPROG_BAND"),
        ],
    )
    codes = {"SUPP", "NP", "NE", "NA", "LOWCOV", "X"}
    known = set(connection.cursor().execute("SELECT urn FROM schools_school").fetchall())
    known_urns = {u for (u,) in known}

    # (a) ours, in-process, on a database holding only the register
    t0 = time.perf_counter()
    res = import_file(path)
    ours = time.perf_counter() - t0
    assert res.status == "imported", res.error
    rows_in_file = Result.objects.filter(year=year, source=path.name).count()

    # (b) the plain Django way, on the same rows, after removing ours: batched upserts
    Result.objects.filter(year=year, source=path.name).delete()
    done = 0
    batch: list[Result] = []

    def flush() -> None:
        Result.objects.bulk_create(
            batch,
            update_conflicts=True,
            unique_fields=["school", "year", "measure"],
            update_fields=["value", "note", "source"],
        )
        batch.clear()

    t0 = time.perf_counter()
    with transaction.atomic(), path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            urn = int(row["URN"])
            if urn not in known_urns:
                continue
            for col, measure in measures:
                cell = row[col].strip()
                if not cell:
                    continue
                note = cell.upper() if cell.upper() in codes else ""
                value = None if note else float(cell.rstrip("%"))
                batch.append(
                    Result(
                        school_id=urn, year=year, measure=measure, value=value, note=note, source=path.name
                    )
                )
                done += 1
            if len(batch) >= batch_size:
                flush()
            if sample and done >= sample:
                break
        flush()
    base_s = time.perf_counter() - t0
    per_row = base_s / done
    print(
        json.dumps(
            {
                "file": path.name,
                "result_rows": rows_in_file,
                "ours_seconds": round(ours, 3),
                "baseline": f"bulk_create(update_conflicts=True) upserts in batches of {batch_size}",
                "baseline_rows": done,
                "baseline_seconds": round(base_s, 3),
                "baseline_ms_per_row": round(per_row * 1000, 4),
                "baseline_estimated_seconds": round(per_row * rows_in_file, 2),
                "ratio": round(per_row * rows_in_file / ours, 1),
            }
        )
    )


# ----------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument(
        "--pg",
        default=os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432"),
        help="PostgreSQL server URL without database name",
    )
    ap.add_argument("--sample", type=int, default=0, help="result rows imported by the baseline (0: all)")
    ap.add_argument("--batch", type=int, default=2000, help="rows per bulk_create upsert in the baseline")
    ap.add_argument("--skip-postgres", action="store_true")
    ap.add_argument("--step", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step == "counts":
        step_counts()
        return 0
    if args.step == "baseline":
        step_baseline(args.pack, args.sample, args.batch)
        return 0
    if not (args.pack / "README.md").exists():
        print(f"data pack not found at {args.pack}", file=sys.stderr)
        return 1

    results: dict[str, Any] = {
        "benchmark": "import",
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_before": list(os.getloadavg()),
        },
        "pack": str(args.pack),
    }
    backends: list[tuple[str, Any]] = [("sqlite", None)]
    if not args.skip_postgres:
        backends.append(("postgres", args.pg))
    for name, admin in backends:
        with tempfile.TemporaryDirectory() as tmp:

            def fresh(name: str = name, admin: Any = admin, tmp: str = tmp) -> str:
                if name == "sqlite":
                    db = Path(tmp) / f"bench-{time.monotonic_ns()}.sqlite3"
                    return f"sqlite:///{db}"
                return pg_recreate(admin)

            print(f"[{name}] full pack import ...", flush=True)
            full = full_import(fresh(), args.pack)
            cpu = f"client CPU {full['client_cpu_seconds']:.1f} s" + (
                f", server backend CPU {full['server_cpu_seconds']:.1f} s"
                if full["server_cpu_seconds"]
                else ""
            )
            print(
                f"[{name}] {full['seconds']:.1f} s wall ({cpu}; load average {full['load_average_at_start']:.1f})  "
                f"{full['summary_total']}",
                flush=True,
            )
            print(f"[{name}] baseline on {Path(NAIVE_FILE).name} ...", flush=True)
            base = baseline(fresh(), args.pack, args.sample, args.batch)
            print(
                f"[{name}] ours {base['ours_seconds']:.2f} s for {base['result_rows']:,} rows; bulk upsert baseline "
                f"{base['baseline_ms_per_row']:.3f} ms/row x {base['result_rows']:,} = {base['baseline_estimated_seconds']:.1f} s "
                f"-> ratio {base['ratio']}x",
                flush=True,
            )
            results[name] = {
                "full_pack_seconds": full["seconds"],
                "client_cpu_seconds": full["client_cpu_seconds"],
                "server_cpu_seconds": full["server_cpu_seconds"],
                "load_average_at_start": full["load_average_at_start"],
                "summary_total": full["summary_total"],
                "rows": full["rows"],
                "baseline": base,
            }
            results[f"ratio_{name}"] = base["ratio"]
            if name == "postgres":
                pg_drop(admin)
    results["load_average_after"] = list(os.getloadavg())
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "import.json").write_text(json.dumps(results, indent=2) + "\n")
    print("\nFull pack import (wall, CLI subprocess):")
    for name, _ in backends:
        r = results[name]
        cpu = r["client_cpu_seconds"] + (r["server_cpu_seconds"] or 0)
        print(
            f"  {name:9s} {r['full_pack_seconds']:6.1f} s wall (limit 30 s); {cpu:.1f} CPU-s in client+backend; "
            f"load average {r['load_average_at_start']:.1f} on {os.cpu_count()} CPUs"
        )
    print("Batched bulk_create upserts vs ours on one file (same run):")
    for name, _ in backends:
        print(f"  {name:9s} ratio {results[f'ratio_{name}']}x")
    print(f"wrote {RESULTS / 'import.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
