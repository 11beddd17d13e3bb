"""The MAT performance files (DfE england_ks2/ks4-mats-performance_YYYY-YY.csv) as a file kind of the importer.

Each file gives trusts (Partnership rows of kind "mat"), their current member academies (open Memberships) and
trust-level results (PartnershipResult). Registered with the schools importer's registry from
`PartnershipsConfig.ready()`, so `schools` never imports `partnerships`; the runner writes each file in one
transaction, and the MatSeat sync runs inside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from partnerships.academies import create_missing
from partnerships.models import Membership, Partnership, PartnershipResult
from partnerships.services import sync_mat_seats
from schoolpartners.params import is_id
from schools.importers import db
from schools.importers.common import academic_year_end, clip, known_schools, reject_unknown, strip
from schools.importers.reading import CODES, Source, numbers, read_csv
from schools.importers.registry import Ctx, Writer, kind

T_PARTNERSHIP = Partnership._meta.db_table
T_MEMBERSHIP = Membership._meta.db_table
T_PRESULT = PartnershipResult._meta.db_table


MAT_REQUIRED = [
    "TIME_PERIOD",
    "TRUST_NAME",
    "TRUST_UID",
    "TRUST_ID",
    "TRUST_COMPANIES_HOUSE_NUMBER",
    "TRUST_UKPRN",
    "TRUST_LEADREGION",
    "INSTITUTIONS_INMAT",
]
MAT_TEXT = {
    "TIME_PERIOD",
    "TIME_IDENTIFIER",
    "TRUST_GROUP_TYPE",
    "TRUST_NAME",
    "TRUST_UID",
    "TRUST_ID",
    "TRUST_COMPANIES_HOUSE_NUMBER",
    "TRUST_UKPRN",
    "TRUST_LEADREGION",
    "INSTITUTIONS_MATPTINC",
    "INSTITUTIONS_INMAT",
}


@kind(
    "mat_performance",
    "Multi-academy trust performance (KS2/KS4)",
    # After the register, coordinates and census (it creates the academies they miss from them) and before the
    # results files, so those files' rows for the created academies are kept on the first `import --all`.
    65,
    MAT_REQUIRED,
    file_names=("mats-performance",),
)
def prepare_mat(src: Source, ctx: Ctx) -> Writer:
    table, _ = read_csv(src, MAT_REQUIRED)
    df = table.df
    ctx.rows_read = len(df)
    ks = 4 if ("TPUP_MATPTINC" in df.columns or "ks4" in src.name.lower()) else 2
    tp, _ = numbers(table, "TIME_PERIOD", integer=True)
    if tp.isna().any():
        raise table.error(int(np.flatnonzero(tp.isna().to_numpy())[0]), "TIME_PERIOD", "missing TIME_PERIOD")
    year = ctx.year or int(tp.max()) % 100 + 2000  # 202425 -> 2025
    tid = strip(df["TRUST_ID"])
    if (tid == "").any():
        raise table.error(int(np.flatnonzero((tid == "").to_numpy())[0]), "TRUST_ID", "missing TRUST_ID")
    dup = tid.duplicated()
    if dup.any():
        raise table.error(int(np.flatnonzero(dup.to_numpy())[0]), "TRUST_ID", "duplicate TRUST_ID")

    def ident(col: str) -> pd.Series:
        s = strip(df[col])
        return s.where(~s.str.upper().isin(CODES), "")

    trusts = pd.DataFrame(
        {
            "kind": "mat",
            "external_id": tid,
            "name": strip(df["TRUST_NAME"]),
            "uid": ident("TRUST_UID"),
            "companies_house_number": ident("TRUST_COMPANIES_HOUSE_NUMBER"),
            "ukprn": ident("TRUST_UKPRN"),
            "lead_region": ident("TRUST_LEADREGION"),
            "source": src.name,
        }
    )
    trusts = clip(trusts, Partnership)
    members = []
    for i, (t, lst) in enumerate(zip(tid, strip(df["INSTITUTIONS_INMAT"]), strict=True)):
        for part in [p.strip() for p in lst.split(";") if p.strip()]:
            if not is_id(part):
                raise table.error(i, "INSTITUTIONS_INMAT", f"URN list item {part!r} is not a whole number")
            members.append((t, int(part)))
    mem = pd.DataFrame(members, columns=["external_id", "school_id"]).drop_duplicates()
    measure_cols = [c for c in df.columns if c not in MAT_TEXT]
    parts = []
    for c in measure_cols:
        raw = strip(df[c])
        v, note = numbers(table, c)
        k = (raw != "").to_numpy(dtype=bool)
        parts.append(
            pd.DataFrame(
                {
                    "external_id": tid[k].to_numpy(),
                    "year": year,
                    "measure": f"KS{ks}_{c}"[:60],
                    "value": v[k].to_numpy(),
                    "note": note[k].str[:10].to_numpy(),
                }
            )
        )
    res = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["external_id", "year", "measure", "value", "note"])
    )
    as_of = ctx.as_of or academic_year_end(year)

    def write() -> db.Counts:
        existing = db.query_frame(
            "SELECT id, kind, external_id, name, uid, companies_house_number, ukprn, lead_region, source "
            f"FROM {T_PARTNERSHIP} "
            "WHERE kind = 'mat'"
        )
        t = trusts.copy()
        if len(existing):
            # Same trust in the KS2 and the KS4 file: keep a mixed-case name over an all-capitals one, and never
            # blank a known identifier, so the result does not depend on which file came last.
            ex = existing.set_index("external_id")
            for col in ("name", "uid", "companies_house_number", "ukprn", "lead_region"):
                old = t["external_id"].map(ex[col]).fillna("").astype(str)
                new = t[col].astype(str)
                keep_old = (old != "") & (new == "")
                if col == "name":
                    keep_old |= (old != "") & new.str.isupper() & ~old.str.isupper()
                t[col] = new.where(~keep_old, old)
            t["source"] = np.where(
                t["external_id"].isin(ex.index),
                t["external_id"].map(ex["source"]).fillna(src.name),
                t["source"],
            )
            t["source"] = (
                t["source"]
                .where(t["source"].str.contains(src.name, regex=False), t["source"] + "; " + src.name)
                .str[:120]
            )
        counts = db.sync(
            T_PARTNERSHIP,
            ["kind", "external_id"],
            t,
            existing.drop(columns=["id"]) if len(existing) else existing,
        )
        ids = db.query_frame(f"SELECT id, external_id FROM {T_PARTNERSHIP} WHERE kind = 'mat'")
        idmap = dict(zip(ids["external_id"], ids["id"], strict=True))
        known = set(known_schools()["urn"].astype(int))
        # Academies the register misses are created from the MAT files, the census and the coordinates file.
        known |= set(create_missing(sorted(set(mem["school_id"]) - known), src.name, as_of.isoformat(), ctx))
        m = mem.copy()
        ok = reject_unknown(ctx, m["school_id"], known, "unknown URN in INSTITUTIONS_INMAT")
        m = m[ok]
        m = pd.DataFrame(
            {
                "partnership_id": m["external_id"].map(idmap).astype(int),
                "school_id": m["school_id"].astype(int),
                "as_of": as_of.isoformat(),
                "source": src.name,
            }
        )
        exm = db.query_frame(
            f'SELECT partnership_id, school_id, as_of, source FROM {T_MEMBERSHIP} WHERE "left" IS NULL'
        )
        if len(exm):
            exm["as_of"] = exm["as_of"].astype(str)
            # keep the first file's name as source when another file of the same date confirms the membership
            same = m.merge(exm, on=["partnership_id", "school_id"], how="left", suffixes=("", "_old"))
            keep = same["as_of_old"].notna() & (same["as_of_old"] >= same["as_of"])
            m["as_of"] = np.where(keep, same["as_of_old"], m["as_of"])
            m["source"] = np.where(keep, same["source_old"], m["source"])
        mc = db.sync(
            T_MEMBERSHIP,
            ["partnership_id", "school_id"],
            m,
            exm,
            insert_defaults={"joined": None, "left": None, "reason": ""},
        )
        ctx.details["trusts"] = {
            "inserted": counts.inserted,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
        }
        ctx.details["memberships"] = {
            "inserted": mc.inserted,
            "updated": mc.updated,
            "unchanged": mc.unchanged,
        }
        r = res.copy()
        r["partnership_id"] = r.pop("external_id").map(idmap).astype(int)
        r["source"] = src.name
        exr = db.query_frame(
            f"SELECT partnership_id, year, measure, value, note, source FROM {T_PRESULT} WHERE year = %s",
            [year],
        )
        rc = db.sync(T_PRESULT, ["partnership_id", "year", "measure"], r, exr)
        ctx.details["trust results"] = {
            "inserted": rc.inserted,
            "updated": rc.updated,
            "unchanged": rc.unchanged,
        }
        # The one-open-MAT-per-school seats follow the memberships in the same transaction: an import never
        # leaves open memberships without their seat (nor seats of memberships it closed).
        seats = sync_mat_seats()
        ctx.details["MAT seats"] = {
            "created": seats.created,
            "removed": seats.removed,
            "schools with two open MAT memberships (no seat)": len(seats.conflicts),
        }
        total = db.Counts()
        total += counts
        total += mc
        total += rc
        return total

    return write
