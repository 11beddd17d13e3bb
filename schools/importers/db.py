"""Set-based writes: compare a frame with the rows already stored, then bulk-insert new rows and bulk-update
changed ones. SQLite uses executemany in large batches; PostgreSQL uses COPY (psycopg `cursor.copy`), with
updates applied from a COPY-filled temporary table. Never one ORM .save() per row.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.db import DatabaseError, connection, transaction

BATCH = 50_000


@dataclass
class Counts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: Counts) -> Counts:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def query_frame(sql: str, params: list[Any] | tuple[Any, ...] = ()) -> pd.DataFrame:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        cols = [c[0] for c in cur.description]
        return pd.DataFrame(cur.fetchall(), columns=cols)


def _py_rows(df: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows of plain Python values (None for missing) that sqlite3/psycopg can bind."""
    cols: list[list[Any]] = []
    for c in df.columns:
        s = df[c]
        if s.dtype == float:
            cols.append([None if v != v else v for v in s.tolist()])
        elif s.dtype == object:
            cols.append(
                [
                    None if (v is None or v is pd.NA or (isinstance(v, float) and v != v)) else v
                    for v in s.tolist()
                ]
            )
        elif isinstance(s.dtype, np.dtype) and s.dtype.kind in "iub":
            cols.append(s.tolist())
        else:  # nullable extension dtypes (Int64, boolean)
            cols.append([None if v is pd.NA else v for v in s.astype(object).tolist()])
    return list(zip(*cols, strict=True))


def _copy(table: str, df: pd.DataFrame) -> None:
    cols = ", ".join(f'"{c}"' for c in df.columns)
    frame = df.copy()
    for c in frame.columns:
        if frame[c].dtype == bool or str(frame[c].dtype) == "boolean":
            frame[c] = frame[c].map({True: "t", False: "f"})
    with connection.cursor() as cur:
        raw = cur.cursor
        for start in range(0, len(frame), 200_000):
            buf = io.StringIO()
            frame.iloc[start : start + 200_000].to_csv(buf, index=False, header=False, na_rep="\\N")
            with raw.copy(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as cp:
                cp.write(buf.getvalue())


def fast_session() -> None:
    """Inside the import transaction: on PostgreSQL do not wait for the WAL flush at commit (a crash can lose
    the last import, never corrupt it; the import is then simply re-run)."""
    if is_postgres():
        with connection.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit TO OFF")
        # Foreign keys are checked by the importer itself, set-wise, inside this transaction: every row it
        # writes references a URN read from schools_school (or a partnership id read back) in the same
        # transaction. Per-row RI triggers then only cost time (about 3x on School updates), so a superuser
        # connection skips them for this transaction; other connections keep them (the SET fails harmlessly).
        try:
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute("SET LOCAL session_replication_role = replica")
        except DatabaseError:
            pass


def _droppable_indexes(table: str) -> list[tuple[str, str]]:
    """Plain secondary indexes of a table (not the primary key, not backing a constraint), with their DDL."""
    return [
        tuple(r)
        for r in query_frame(  # type: ignore[misc]
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid "
            "WHERE t.relname = %s AND c.oid IS NULL AND NOT x.indisprimary AND NOT x.indisunique",
            [table],
        ).itertuples(index=False, name=None)
    ]


def insert(table: str, df: pd.DataFrame) -> int:
    if df.empty:
        return 0
    if is_postgres():
        # Bulk load into a table that is small next to the load (first import): building the secondary indexes
        # once afterwards is cheaper than maintaining them row by row. DDL is transactional in PostgreSQL, so
        # the file stays all-or-nothing (readers of this table wait for the commit of this one file).
        rebuild: list[tuple[str, str]] = []
        if len(df) >= 20_000 and not os.environ.get("IMPORT_NO_INDEX_REBUILD"):
            existing = int(query_frame(f"SELECT count(*) AS n FROM {table}")["n"].iat[0])
            if len(df) >= existing:
                rebuild = _droppable_indexes(table)
        with connection.cursor() as cur:
            for name, _ in rebuild:
                cur.execute(f'DROP INDEX "{name}"')
        _copy(table, df)
        with connection.cursor() as cur:
            for _, ddl in rebuild:
                cur.execute(ddl)
        return len(df)
    cols = ", ".join(f'"{c}"' for c in df.columns)
    qs = ", ".join(["%s"] * len(df.columns))
    sql = f"INSERT INTO {table} ({cols}) VALUES ({qs})"
    with connection.cursor() as cur:
        for start in range(0, len(df), BATCH):
            cur.executemany(sql, _py_rows(df.iloc[start : start + BATCH]))
    return len(df)


def update(table: str, key: list[str], df: pd.DataFrame) -> int:
    if df.empty:
        return 0
    sets = [c for c in df.columns if c not in key]
    if is_postgres():
        tmp = f"_upd_{table}"
        cols = ", ".join(f'"{c}"' for c in df.columns)
        with connection.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {tmp}")
            cur.execute(f"CREATE TEMP TABLE {tmp} AS SELECT {cols} FROM {table} LIMIT 0")
        _copy(tmp, df)
        assign = ", ".join(f'"{c}" = u."{c}"' for c in sets)
        cond = " AND ".join(f't."{k}" = u."{k}"' for k in key)
        with connection.cursor() as cur:
            cur.execute(f"UPDATE {table} AS t SET {assign} FROM {tmp} AS u WHERE {cond}")
            cur.execute(f"DROP TABLE {tmp}")
        return len(df)
    assign = ", ".join(f'"{c}" = %s' for c in sets)
    cond = " AND ".join(f'"{k}" = %s' for k in key)
    sql = f"UPDATE {table} SET {assign} WHERE {cond}"
    ordered = df[sets + key]
    with connection.cursor() as cur:
        for start in range(0, len(ordered), BATCH):
            cur.executemany(sql, _py_rows(ordered.iloc[start : start + BATCH]))
    return len(df)


def _norm(s: pd.Series) -> pd.Series:
    """Comparable form of a column coming from pandas or from either database backend."""
    if s.dtype == object:
        nonnull = s.dropna()
        sample = nonnull.iloc[0] if len(nonnull) else None
        if isinstance(sample, (bool, np.bool_, int, float, np.integer, np.floating)) and not isinstance(
            sample, str
        ):
            return pd.to_numeric(s.map(lambda v: None if v is None else float(v)), errors="coerce")
        return s.map(lambda v: "\x00" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    if (
        s.dtype == bool
        or str(s.dtype) in ("boolean", "Int64", "Float64")
        or pd.api.types.is_numeric_dtype(s.dtype)
    ):
        return pd.to_numeric(s.astype("Float64"), errors="coerce").astype(float)
    return s.astype(str)


def _differs(a: pd.Series, b: pd.Series) -> np.ndarray:
    na, nb = _norm(a), _norm(b)
    if na.dtype == float or nb.dtype == float:
        fa = pd.to_numeric(na, errors="coerce").astype(float).to_numpy()
        fb = pd.to_numeric(nb, errors="coerce").astype(float).to_numpy()
        both_nan = np.isnan(fa) & np.isnan(fb)
        with np.errstate(invalid="ignore"):
            close = np.isclose(fa, fb, rtol=1e-12, atol=1e-12)
        return ~(both_nan | close)
    return na.astype(str).to_numpy() != nb.astype(str).to_numpy()


def sync(
    table: str,
    key: list[str],
    df: pd.DataFrame,
    existing: pd.DataFrame,
    *,
    insert_defaults: dict[str, object] | None = None,
    allow_insert: bool = True,
) -> Counts:
    """Write `df` (one row per key) against `existing` (same columns, already loaded): insert, update, count."""
    counts = Counts()
    if df.empty:
        return counts
    compare = [c for c in df.columns if c not in key]
    if existing.empty:
        new, both = df, df.iloc[0:0]
    else:
        ex = existing[key + compare]
        m = df.merge(ex, on=key, how="left", suffixes=("", "__old"), indicator=True)
        found = (m["_merge"] == "both").to_numpy()
        new = df[~found]
        both = m[found]
    if len(both):
        changed = np.zeros(len(both), dtype=bool)
        for c in compare:
            changed |= _differs(both[c].reset_index(drop=True), both[f"{c}__old"].reset_index(drop=True))
        upd = both.loc[changed, key + compare]
        counts.updated = update(table, key, upd)
        counts.unchanged = int((~changed).sum())
    if len(new) and allow_insert:
        # Key order keeps B-tree inserts local (PostgreSQL COPY into an indexed table is ~2x faster sorted).
        ins = new.sort_values(key, kind="stable")
        if insert_defaults:
            ins = ins.copy()
            for c, v in insert_defaults.items():
                if c not in ins.columns:
                    ins[c] = v
        counts.inserted = insert(table, ins)
    return counts
