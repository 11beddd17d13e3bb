"""The school search index: normalised text kept beside each school and matched by a full-text index.

Each school carries two derived columns written whenever its identity changes (the register importers, in the
same transaction as the import; `School.save()`; the `reindex_search` command for an existing database):

- `search_name`: the name, normalised (lower case, accents and apostrophes dropped, other punctuation a space),
  so "St Mary's Catholic High School" is "st marys catholic high school";
- `search_text`: name, other name, town, postcode (with and without its space) and postcode district,
  normalised the same way.

`search_text` is indexed by SQLite FTS5 (virtual table `schools_school_fts`, external content, kept in step by
triggers: migration 0004) or by a PostgreSQL GIN index on `to_tsvector('simple', search_text)`. A query is
normalised the same way and every word must match the start of a word of the school's text ("st marys catholic
high" finds "St Mary's Catholic High School"), so matching is punctuation-insensitive and served by the index on
both databases: no `LIKE '%term%'` scan of the register, for the page nor for the count.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models.expressions import RawSQL

FTS_TABLE = "schools_school_fts"
PG_TSV = "to_tsvector('simple', search_text)"
MAX_TERMS = 12  # words of a query used for matching (a query is at most a few words; bounded work)
SEARCH_FIELDS = ("name", "other_name", "town", "postcode", "postcode_district")
ALSO_COLUMNS = ("la_name", "region_name")

_APOSTROPHES = re.compile(r"['`\u2018\u2019\u02bc\u00b4]")
_NON_WORD = re.compile(r"[^0-9a-z]+")


def normalise(text: str | None) -> str:
    """Lower case ASCII words separated by single spaces: accents and apostrophes dropped, punctuation a space."""
    if not text:
        return ""
    t = _APOSTROPHES.sub("", text)
    t = unicodedata.normalize("NFKD", t).encode("ascii", "ignore").decode("ascii").lower()
    return " ".join(_NON_WORD.sub(" ", t).split())


def search_fields(
    name: str | None,
    other_name: str | None,
    town: str | None,
    postcode: str | None,
    postcode_district: str | None,
) -> tuple[str, str]:
    """(search_name, search_text) for one school."""
    pc = normalise(postcode)
    parts = [normalise(name), normalise(other_name), normalise(town), pc, pc.replace(" ", "")]
    parts.append(normalise(postcode_district))
    words: list[str] = []
    for part in parts:  # each word once, in order (shorter index, same matches)
        for w in part.split():
            if w not in words:
                words.append(w)
    return normalise(name), " ".join(words)


def query_terms(q: str) -> list[str]:
    return normalise(q).split()[:MAX_TERMS]


def match_sql(terms: list[str], prefix: bool = True, also: dict[str, list[str]] | None = None) -> RawSQL:
    """URNs of the schools whose text has a word starting with (or, `prefix=False`, equal to) each term,
    from the full-text index; `also` adds the schools whose column equals one of the values (a UNION, so that
    each part is served by its own index: an OR in the outer query would make PostgreSQL scan the table)."""
    star = "*" if prefix else ""
    if connection.vendor == "postgresql":
        tsquery = " & ".join(
            f"{t}{':*' if prefix else ''}" for t in terms
        )  # terms are [0-9a-z]+: no escaping
        sql, args = f"SELECT urn FROM schools_school WHERE {PG_TSV} @@ to_tsquery('simple', %s)", [tsquery]
    elif connection.vendor == "sqlite":
        fts = " ".join(f'"{t}"{star}' for t in terms)
        sql, args = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [fts]
    else:  # another backend: the same word-prefix semantics without an index
        clauses = " AND ".join("(' ' || search_text || ' ') LIKE %s" for _ in terms)
        sql, args = (
            f"SELECT urn FROM schools_school WHERE {clauses}",
            [f"% {t}{'%' if prefix else ' %'}" for t in terms],
        )
    for column, values in (also or {}).items():
        if values and column in ALSO_COLUMNS:
            marks = ", ".join(["%s"] * len(values))
            sql += f" UNION SELECT urn FROM schools_school WHERE {column} IN ({marks})"
            args += values
    return RawSQL(sql, args)  # noqa: S611 - fixed SQL; every value is a parameter


# --- keeping the index in step ------------------------------------------------------------------------------


def _changed_rows(rows: Iterable[tuple[Any, ...]]) -> list[tuple[str, str, int]]:
    out = []
    for urn, name, other, town, pc, district, old_name, old_text in rows:
        new_name, new_text = search_fields(name, other, town, pc, district)
        if new_name != (old_name or "") or new_text != (old_text or ""):
            out.append((new_name, new_text, int(urn)))
    return out


def refresh(using: Any = None) -> int:
    """Recompute `search_name`/`search_text` for every school whose identity changed; returns rows updated.

    Runs inside the caller's transaction (the importers call it in theirs); the FTS5 triggers (SQLite) and the
    expression index (PostgreSQL) follow the column within the same transaction."""
    conn = using or connection
    with conn.cursor() as cur:
        cur.execute(
            "SELECT urn, name, other_name, town, postcode, postcode_district, search_name, search_text "
            "FROM schools_school"
        )
        changed = _changed_rows(cur.fetchall())
        for start in range(0, len(changed), 5000):
            cur.executemany(
                "UPDATE schools_school SET search_name = %s, search_text = %s WHERE urn = %s",
                changed[start : start + 5000],
            )
    return len(changed)


def rebuild(using: Any = None) -> int:
    """`refresh`, then rebuild the full-text index from the column (SQLite FTS5 'rebuild'; PostgreSQL REINDEX)."""
    conn = using or connection
    n = refresh(conn)
    with conn.cursor() as cur:
        if conn.vendor == "sqlite":
            cur.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES('rebuild')")  # noqa: S608
        elif conn.vendor == "postgresql":
            cur.execute("REINDEX INDEX schools_school_search_tsv")
    return n


# --- DDL (migration 0004) -----------------------------------------------------------------------------------

SQLITE_CREATE = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(search_text, content='schools_school', "
    "content_rowid='urn', tokenize='unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ai AFTER INSERT ON schools_school BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.urn, new.search_text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ad AFTER DELETE ON schools_school BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text) VALUES ('delete', old.urn, old.search_text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_au AFTER UPDATE OF search_text ON schools_school BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text) VALUES ('delete', old.urn, old.search_text); "
    f"INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.urn, new.search_text); END",
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES('rebuild')",
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_ai",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_ad",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_au",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
]
# fastupdate off: rows the importer writes go straight into the index (no pending list for readers to scan).
POSTGRES_CREATE = [
    f"CREATE INDEX IF NOT EXISTS schools_school_search_tsv ON schools_school USING GIN ({PG_TSV}) "
    "WITH (fastupdate = off)",
]
POSTGRES_DROP = ["DROP INDEX IF EXISTS schools_school_search_tsv"]


def create_index(schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    for sql in SQLITE_CREATE if vendor == "sqlite" else POSTGRES_CREATE if vendor == "postgresql" else []:
        schema_editor.execute(sql)


def drop_index(schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    for sql in SQLITE_DROP if vendor == "sqlite" else POSTGRES_DROP if vendor == "postgresql" else []:
        schema_editor.execute(sql)
