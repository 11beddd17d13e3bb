"""Academies listed in the MAT files but absent from the register: created from the MAT files, the 2024/25 census
and the coordinates file, flagged `School.source = "mat-files"`.

The MAT files list every academy of a trust by URN (INSTITUTIONS_INMAT) but carry no school names. The GIAS
register of June 2024 misses academies opened or converted after it (108 URNs of the 2024/25 MAT files), so their
memberships were dropped and trusts' member counts fell short of the files (E-ACT: 34 of 37). Called by the MAT
importer inside its write transaction: the school rows are created first, then the census and coordinates files
the importer recorded (`ImportRun`, the newest of each kind) are written again, which adds these schools' rows and
leaves every other row unchanged (the same writers, so no second parsing rule). A rerun creates nothing.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from schools.importers import db
from schools.importers.common import T_SCHOOL, char_defaults, strip
from schools.importers.reading import Source, StructuralError, read_csv, year_from_name
from schools.importers.register import la_table
from schools.importers.registry import KINDS, Ctx
from schools.models import ImportRun, School

SOURCE = "mat-files"

#: Census SCHOOLTYPE -> phase, when the coordinates file's ISPRIMARY/ISSECONDARY flags do not say.
_TYPE_PHASE = {"state-funded primary": "primary", "state-funded secondary": "secondary"}


def _latest_file(kind: str) -> Path | None:
    """The newest-year file of `kind` that an import recorded and that still exists."""
    best: tuple[int, Path] | None = None
    for path in ImportRun.objects.filter(kind=kind, ok=True).values_list("path", flat=True):
        p = Path(path)
        if not p.exists():
            continue
        y = year_from_name(p.name.removesuffix(".xz")) or 0
        if best is None or y > best[0]:
            best = (y, p)
    return best[1] if best else None


def _frame(path: Path | None, required: list[str]) -> pd.DataFrame:
    if path is None:
        return pd.DataFrame(columns=required)
    try:
        table, _ = read_csv(Source.open(path), required)
    except StructuralError:
        return pd.DataFrame(columns=required)
    df = table.df
    return df.assign(URN=pd.to_numeric(strip(df["URN"]), errors="coerce")).dropna(subset=["URN"])


def _flag(v: object) -> bool | None:
    s = str(v).strip()
    return True if s == "1" else False if s == "0" else None


def _phase(pri: bool | None, sec: bool | None, school_type: str) -> str:
    if pri and sec:
        return "all_through"
    if pri:
        return "primary"
    if sec:
        return "secondary"
    return _TYPE_PHASE.get(school_type.strip().lower(), "")


def create_missing(urns: list[int], mat_file: str, as_of: str, ctx: Ctx) -> list[int]:
    """Create School rows for `urns` (not in the register) and write their census and coordinates; returns the
    URNs created. Runs inside the caller's transaction."""
    existing = (
        set(
            db.query_frame(
                f"SELECT urn FROM {T_SCHOOL} WHERE urn IN ({', '.join(['%s'] * len(urns))})", urns
            )["urn"].astype(int)
        )
        if urns
        else set()
    )
    todo = sorted(u for u in set(urns) if u not in existing)
    if not todo:
        return []
    census_path, coords_path = _latest_file("census"), _latest_file("coords")
    census = _frame(census_path, ["URN", "LA", "SCHOOLTYPE"]).drop_duplicates("URN").set_index("URN")
    coords = _frame(coords_path, ["URN", "SCHNAME", "POSTCODE", "ISPRIMARY", "ISSECONDARY"])
    coords = coords.drop_duplicates("URN").set_index("URN")
    las = la_table()
    la_by_code = {
        int(c): (str(n), str(r)) for c, n, r in zip(las["code"], las["name"], las["region_name"], strict=True)
    }
    rows = []
    for u in todo:
        c = coords.loc[u] if u in coords.index else None
        k = census.loc[u] if u in census.index else None
        code = str(k["LA"]).strip() if k is not None else ""
        la_code = int(code) if code.isdigit() else None
        la = la_by_code.get(la_code) if la_code is not None else None
        pri = _flag(c["ISPRIMARY"]) if c is not None else None
        sec = _flag(c["ISSECONDARY"]) if c is not None else None
        postcode = str(c["POSTCODE"]).strip().upper() if c is not None else ""
        rows.append(
            {
                "urn": u,
                "name": (str(c["SCHNAME"]).strip() if c is not None else "") or f"Academy URN {u}",
                "la_code": la_code if la is not None else None,
                "la_name": la[0] if la else "",
                "region_name": la[1] if la else "",
                "postcode": postcode[:10],
                "postcode_district": postcode.split(" ")[0][:5] if postcode else "",
                "status": "open",
                "minor_group": "Academy",
                "type_group": "academy",
                "phase": _phase(pri, sec, str(k["SCHOOLTYPE"]) if k is not None else ""),
                "is_primary": pri,
                "is_secondary": sec,
                "register_source": mat_file[:120],
                "register_as_of": as_of,
                "source": SOURCE,
            }
        )
    frame = pd.DataFrame(rows)
    frame["la_code"] = frame["la_code"].astype("Int64")
    frame["is_primary"] = frame["is_primary"].astype("boolean")
    frame["is_secondary"] = frame["is_secondary"].astype("boolean")
    db.sync(T_SCHOOL, ["urn"], frame, frame.iloc[0:0], insert_defaults=char_defaults(School))
    details: dict[str, object] = {"created": len(todo)}
    for kind, path in (("census", census_path), ("coords", coords_path)):
        if path is None:
            details[f"{kind} file"] = "none imported"
            continue
        sub = Ctx(kind_label=KINDS[kind].label)
        counts = KINDS[kind].prepare(Source.open(path), sub)()
        details[f"{kind} rows added or set ({path.name.removesuffix('.xz')})"] = (
            counts.inserted + counts.updated
        )
    ctx.details["academies created from the MAT files"] = details
    return todo
