"""Build the compact national data bundle (data/bundle) from the data pack (../shared/data).

Every CSV/JSON/GeoJSON file of the pack is xz-compressed as data/bundle/<name>.xz (the .xlsx spine is skipped: it is
the same sheet as england_spine_2017-2018.csv). manifest.json lists each file with the sha256 of the
original bytes and its row count; LICENCE.md carries the Open Government Licence attribution.
`schoolpartners import --all --source bundle` reads the .xz files transparently.

Usage: .venv/bin/python scripts/build_bundle.py [--pack DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import lzma
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 20 * 1024 * 1024

LICENCE = """# Licence and attribution

The files in this folder are xz-compressed copies of the School Partners data pack (see manifest.json for
each file's origin path and the SHA-256 of the uncompressed original).

Contains public sector information licensed under the Open Government Licence v3.0
(https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/): Department for Education
(performance tables, school census, school spine, multi-academy trust performance), Get Information about
Schools (GIAS) and Ofsted data. District outlines (england_lad_2024-05_buc.geojson): Office for National
Statistics, Local Authority Districts (May 2024) Boundaries UK BUC, via a-b-street/ltn; contains OS data
(c) Crown copyright and database right 2024.

Some columns were added by the repositories the pack was taken from (geocodes from doogal.co.uk and
postcodes.io, which contain OS and ONS data under the OGL; scraped Ofsted ratings; the app authors' own
composite scores). See the data pack README for each file's source repository and commit.
"""


def rows_of(name: str, data: bytes) -> int:
    if name.endswith(".geojson"):
        return len(json.loads(data.decode("utf-8-sig"))["features"])
    if name.endswith(".json"):
        obj = json.loads(data.decode("utf-8-sig"))
        return len(obj) if isinstance(obj, list) else 1
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    return max(sum(1 for r in csv.reader(io.StringIO(text)) if r) - 1, 0)


def build(pack: Path, out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.xz"):
        old.unlink()
    files: list[dict[str, Any]] = []
    for p in sorted(pack.rglob("*")):
        if not p.is_file() or p.suffix.lower() not in (".csv", ".json", ".geojson"):
            continue
        data = p.read_bytes()
        target = out / (p.name + ".xz")
        target.write_bytes(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME))
        files.append(
            {
                "file": p.name,
                "path": str(p.relative_to(pack)),
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
                "compressed_bytes": target.stat().st_size,
                "rows": rows_of(p.name, data),
            }
        )
    manifest: dict[str, Any] = {
        "description": "School Partners national data bundle: the data pack's CSV/JSON files, xz-compressed",
        "licence": "Open Government Licence v3.0 (see LICENCE.md)",
        "files": files,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (out / "LICENCE.md").write_text(LICENCE)
    return manifest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "bundle")
    args = ap.parse_args()
    if not args.pack.is_dir():
        print(f"data pack not found at {args.pack}", file=sys.stderr)
        return 1
    manifest = build(args.pack, args.out)
    total = sum(int(f["compressed_bytes"]) for f in manifest["files"])
    print(f"{len(manifest['files'])} files, {total / 1e6:.1f} MB compressed -> {args.out}")
    if total > LIMIT:
        print(f"bundle exceeds {LIMIT / 1e6:.0f} MB", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
