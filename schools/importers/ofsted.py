"""File family: Ofsted inspection history, and each school's latest judgement."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schools.importers import db
from schools.importers.common import T_SCHOOL, known_schools, reject_unknown, strip
from schools.importers.reading import Source, dates, read_csv, urns
from schools.importers.registry import Ctx, Writer, kind
from schools.models import Inspection

T_INSPECTION = Inspection._meta.db_table


# --------------------------------------------------------------------------- Ofsted

OFSTED_COLS = ["URN", "Rating", "Inspection Date"]
RATINGS = {
    "outstanding": "Outstanding",
    "good": "Good",
    "requires improvement": "Requires Improvement",
    "satisfactory": "Satisfactory",
    "inadequate": "Inadequate",
    "serious weaknesses": "Serious Weaknesses",
    "special measures": "Special Measures",
}
RI_FROM = pd.Timestamp("2012-09-01")  # "Satisfactory" was renamed "Requires Improvement" from September 2012


def latest_inspections(insp: pd.DataFrame) -> pd.DataFrame:
    """Latest judgement per school; on a same-date tie prefer the grade that was valid on that date."""
    d = pd.to_datetime(insp["date"].astype(str))
    valid = np.where(d >= RI_FROM, insp["rating"] != "Satisfactory", insp["rating"] != "Requires Improvement")
    ranked = insp.assign(_d=d, _valid=valid).sort_values(["school_id", "_d", "_valid", "rating"])
    last = ranked.drop_duplicates("school_id", keep="last")
    return pd.DataFrame(
        {
            "urn": last["school_id"].astype(int),
            "ofsted_rating": last["rating"],
            "ofsted_date": last["_d"].dt.strftime("%Y-%m-%d"),
        }
    )


@kind("ofsted", "Ofsted inspection history", 120, OFSTED_COLS, file_names=("ofsted",))
def prepare_ofsted(src: Source, ctx: Ctx) -> Writer:
    table, _ = read_csv(src, OFSTED_COLS)
    df = table.df
    ctx.rows_read = len(df)
    urn = urns(table, "URN", unique=False)
    when = dates(table, "Inspection Date", "%Y%m%d")
    raw = strip(df["Rating"])
    rating = raw.str.lower().map(RATINGS)
    bad = rating.isna() & (raw != "")
    if bad.any():
        raise table.error(int(np.flatnonzero(bad.to_numpy())[0]), "Rating", "unknown Ofsted rating")
    frame = pd.DataFrame({"school_id": urn, "date": when, "rating": rating, "source": src.name})
    missing = frame["date"].isna() | frame["rating"].isna()
    if missing.any():
        ctx.rejected["no rating or no date"] += int(missing.sum())
    frame = frame[~missing]

    def write() -> db.Counts:
        known = set(known_schools()["urn"].astype(int))
        ok = reject_unknown(ctx, frame["school_id"], known)
        rows = frame[ok].copy()
        rows["school_id"] = rows["school_id"].astype(int)
        dup = rows.duplicated(["school_id", "date", "rating"])
        ctx.details["exact duplicate rows collapsed"] = int(dup.sum())
        rows = rows[~dup]
        existing = db.query_frame(f"SELECT school_id, date, rating, source FROM {T_INSPECTION}")
        if len(existing):
            existing["date"] = existing["date"].astype(str)
        counts = db.sync(T_INSPECTION, ["school_id", "date", "rating"], rows, existing)
        counts.unchanged += int(dup.sum())
        allinsp = db.query_frame(f"SELECT school_id, date, rating FROM {T_INSPECTION}")
        latest = latest_inspections(allinsp)
        ex = db.query_frame(f"SELECT urn, ofsted_rating, ofsted_date FROM {T_SCHOOL}")
        sc = db.sync(T_SCHOOL, ["urn"], latest, ex, allow_insert=False)
        ctx.details["schools' latest Ofsted judgement updated"] = sc.updated
        return counts

    return write
