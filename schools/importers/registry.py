"""The registry of file kinds the importer dispatches through.

A file family module registers each of its kinds with `@kind(...)`: how the kind is recognised (required header
columns, file extensions, optionally a file-name pattern), its dependency order for `import --all`, and its
`prepare(src, ctx)`. `prepare` reads and validates the whole file without writing anything (structural errors
raise `StructuralError`) and returns a `write()` closure that the runner calls inside one transaction.
Data-level problems (a URN not in the register) are row rejections counted by reason in `ctx.rejected`.

The schools families are loaded by `schools.importers.kinds`; higher domains register their own kinds from
their AppConfig.ready() (e.g. partnerships' MAT files), so this package never imports them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from schools.importers import db
from schools.importers.reading import Source

Writer = Callable[[], db.Counts]
Prepare = Callable[[Source, "Ctx"], Writer]


@dataclass
class Ctx:
    """Options and running totals for one file import."""

    year: int | None = None  # --year override (year the academic year ends)
    as_of: dt.date | None = None  # --as-of override for register/coordinate files
    rows_read: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    details: dict[str, object] = field(default_factory=dict)
    kind_label: str = ""


@dataclass
class Kind:
    name: str
    label: str
    order: int  # dependency order for --all
    required: list[str] | list[list[str]]
    prepare: Prepare
    name_hint: re.Pattern[str] | None = None
    exts: tuple[str, ...] = (".csv",)

    def matches(self, header: list[str], filename: str) -> bool:
        if not filename.lower().endswith(self.exts):
            return False
        hs = set(header)
        for item in self.required:
            aliases = [item] if isinstance(item, str) else item
            if not any(a in hs for a in aliases):
                return False
        return self.name_hint is None or bool(self.name_hint.search(filename.lower()))


KINDS: dict[str, Kind] = {}

# When no header matches, the file name suggests the kind, so its header check can say which column is missing.
# (substring of the lower-case file name, kind name), tried in the kinds' dependency order whatever the order in
# which the families were imported.
NAME_HINTS: list[tuple[str, str]] = []


def kind(
    name: str,
    label: str,
    order: int,
    required: list[str] | list[list[str]],
    *,
    name_hint: str | None = None,
    exts: tuple[str, ...] = (".csv",),
    file_names: tuple[str, ...] = (),
) -> Callable[[Prepare], Prepare]:
    """Register the decorated `prepare` as file kind `name`; `file_names` are the name fragments that suggest
    this kind when no header matches."""

    def deco(fn: Prepare) -> Prepare:
        if name in KINDS and KINDS[name].prepare is not fn:
            raise ValueError(f"file kind {name!r} is already registered")
        KINDS[name] = Kind(
            name, label, order, required, fn, re.compile(name_hint) if name_hint else None, exts
        )
        NAME_HINTS.extend((hint, name) for hint in file_names if (hint, name) not in NAME_HINTS)
        NAME_HINTS.sort(key=lambda h: KINDS[h[1]].order)  # stable: a kind's own hints keep their order
        return fn

    return deco


IGNORED = re.compile(r"(^readme|sha256sums|licen[cs]e|manifest\.json$)", re.I)
METADATA = re.compile(r"(_meta\.csv$|establishment-types)", re.I)


def detect(src: Source, header: list[str]) -> Kind | None:
    for k in sorted(KINDS.values(), key=lambda k: k.order):
        if k.matches(header, src.name):
            return k
    return None


def guess_from_name(name: str) -> Kind | None:
    low = name.lower()
    if METADATA.search(low):
        return None
    return next((KINDS[k] for hint, k in NAME_HINTS if hint in low and low.endswith(KINDS[k].exts)), None)
