"""File family: school coordinates, and the coordinate writer shared with results files that carry them."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pandas as pd

from schools.importers import db
from schools.importers.common import T_SCHOOL, academic_year_end, file_year, known_schools, reject_unknown
from schools.importers.reading import Source, numbers, read_csv, urns
from schools.importers.registry import Ctx, Writer, kind

# --------------------------------------------------------------------------- coordinates

# Same-date coordinate sources are ranked so the outcome never depends on import order.
COORD_PRIORITY = [
    (re.compile(r"coords"), 3),
    (re.compile(r"secondary.*\.json|\.json$"), 2),
    (re.compile(r"ks2final"), 1),
    (re.compile(r"ks4final"), 0),
]


def coord_priority(name: str) -> int:
    return next((p for rx, p in COORD_PRIORITY if rx.search(name.lower())), -1)


def coords_writer(
    urn: pd.Series, lat: pd.Series, lon: pd.Series, source: str, as_of: dt.date, ctx: Ctx
) -> Callable[[], int]:
    """Set School coordinates from this file where it is at least as new (then as preferred) as the stored source."""
    f = pd.DataFrame({"urn": urn.astype("Int64"), "latitude": lat, "longitude": lon}).dropna()
    ok_range = f["latitude"].between(-90, 90) & f["longitude"].between(-180, 180)
    if (~ok_range).any():
        ctx.rejected["coordinates out of range"] += int((~ok_range).sum())
    f = f[ok_range].drop_duplicates("urn")
    f["urn"] = f["urn"].astype(int)

    def write() -> int:
        ex = db.query_frame(f"SELECT urn, latitude, longitude, coord_source, coord_as_of FROM {T_SCHOOL}")
        ex["urn"] = ex["urn"].astype(int)
        g = f[f["urn"].isin(set(ex["urn"]))]
        e = ex.set_index("urn").loc[g["urn"]]
        ex_date = pd.to_datetime(e["coord_as_of"].astype(object).map(lambda v: None if v is None else str(v)))
        ex_prio = e["coord_source"].fillna("").map(lambda s: coord_priority(s) if s else -2)
        mine = pd.Timestamp(as_of)
        prio = coord_priority(source)
        take = (ex_date.isna() | (ex_date < mine) | ((ex_date == mine) & (ex_prio <= prio))).to_numpy(
            dtype=bool
        )
        upd = g[take].assign(coord_source=source, coord_as_of=as_of.isoformat())
        c = db.sync(T_SCHOOL, ["urn"], upd, ex, allow_insert=False)
        ctx.details["coordinates set"] = c.updated
        ctx.details["coordinates kept from a newer or preferred source"] = int((~take).sum())
        return c.updated

    return write


@kind("coords", "School coordinates (URN, LAT, LON)", 50, ["URN", "LAT", "LON"], file_names=("coords",))
def prepare_coords(src: Source, ctx: Ctx) -> Writer:
    table, _ = read_csv(src, ["URN", "LAT", "LON"])
    ctx.rows_read = len(table.df)
    urn = urns(table, "URN", unique=True)
    lat, _ = numbers(table, "LAT")
    lon, _ = numbers(table, "LON")
    as_of = ctx.as_of or academic_year_end(file_year(src, ctx))

    def write() -> db.Counts:
        known = set(known_schools()["urn"].astype(int))
        ok = reject_unknown(ctx, urn, known)
        blank = (lat.isna() | lon.isna()).to_numpy() & ok
        if blank.any():
            ctx.rejected["no coordinates"] += int(blank.sum())
        w = coords_writer(urn[ok], lat[ok], lon[ok], src.name, as_of, ctx)
        n = w()
        return db.Counts(updated=n, unchanged=int(ok.sum()) - int(blank.sum()) - n)

    return write
