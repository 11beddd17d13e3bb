"""File family: the January school census."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schools.importers import db
from schools.importers.common import clip, file_year, known_schools, reject_unknown, strip
from schools.importers.reading import Source, numbers, read_csv, urns
from schools.importers.registry import Ctx, Writer, kind
from schools.models import CensusRecord

T_CENSUS = CensusRecord._meta.db_table


# --------------------------------------------------------------------------- census

CENSUS_MAP: list[tuple[list[str], str, bool]] = [  # (aliases, column, integer)
    (["NOR"], "nor", True),
    (["NORG"], "nor_girls", True),
    (["NORB"], "nor_boys", True),
    (["PNORG"], "pct_girls", False),
    (["PNORB"], "pct_boys", False),
    (["TSENELSE"], "sen_ehcp", True),
    (["PSENELSE"], "pct_sen_ehcp", False),
    (["TSENELK"], "sen_support", True),
    (["PSENELK"], "pct_sen_support", False),
    (["NUMEAL"], "eal", True),
    (["NUMENGFL"], "english_first", True),
    (["NUMUNCFL"], "language_unclassified", True),
    (["PNUMEAL"], "pct_eal", False),
    (["PNUMENGFL"], "pct_english_first", False),
    (["PNUMUNCFL", "PNUMUNCLF"], "pct_language_unclassified", False),
    (["NUMFSM"], "fsm", True),
    (["NUMFSMEVER"], "fsm_ever", True),
    (["PNUMFSMEVER"], "pct_fsm_ever", False),
]
CENSUS_REQUIRED: list[list[str]] = [["URN"], ["LA"], ["ESTAB", "Estab"], ["SCHOOLTYPE"]] + [
    a for a, _, _ in CENSUS_MAP
]


@kind("census", "School census (January)", 60, CENSUS_REQUIRED, file_names=("census",))
def prepare_census(src: Source, ctx: Ctx) -> Writer:
    table, cols = read_csv(src, CENSUS_REQUIRED)
    df = table.df
    year = file_year(src, ctx)
    nat = strip(df["URN"]).str.upper() == "NAT"
    ctx.details["national total rows skipped"] = int(nat.sum())
    ctx.rows_read = int((~nat).sum())
    urn = urns(table, "URN", unique=True, drop=nat)
    out = pd.DataFrame({"school_id": urn, "year": year, "school_type": strip(df["SCHOOLTYPE"])})
    for aliases, col, integer in CENSUS_MAP:
        v, _ = numbers(table, cols[aliases[0]], integer=integer)
        if integer:
            neg = v < 0
            if neg.any():
                raise table.error(int(np.flatnonzero(neg.to_numpy())[0]), cols[aliases[0]], "negative count")
        out[col] = v.astype("Int64") if integer else v
    if "NORFSMEVER" in df.columns:
        v, _ = numbers(table, "NORFSMEVER", integer=True)
        out["nor_fsm_ever"] = v.astype("Int64")
    else:
        out["nor_fsm_ever"] = pd.array([None] * len(out), dtype="Int64")
    out["source"] = src.name
    out = clip(out[~nat.to_numpy()].copy(), CensusRecord)

    def write() -> db.Counts:
        known = set(known_schools()["urn"].astype(int))
        ok = reject_unknown(ctx, out["school_id"], known)
        rows = out[ok].copy()
        rows["school_id"] = rows["school_id"].astype(int)
        existing = db.query_frame(f"SELECT {', '.join(rows.columns)} FROM {T_CENSUS} WHERE year = %s", [year])
        return db.sync(T_CENSUS, ["school_id", "year"], rows, existing)

    return write
