"""Results lineage: follow GIAS links from a school back to the nearest school with results (pure: no Django).

A school that opened since its results year (an academy replacing a maintained school, a merger, an
amalgamation) has no results under its own URN. Its *lineage* is the chain of GIAS links from it to the nearest
predecessor that has results: the figures shown for the school are that predecessor's, and pages say so.

Links are read as predecessor edges:

- ``Predecessor*`` on (URN, LinkURN): LinkURN is a predecessor of URN;
- ``Successor*`` on (URN, LinkURN): URN is a predecessor of LinkURN (links stored only one way still count);
- undirected merger types (``Result of Amalgamation``, ``Merged - ...``): LinkURN is a predecessor of URN when
  LinkURN is not open and URN is (the closed school merged into the open one);
- other types (sixth-form centre links, ``Closure``, ``Expansion``, ``Other``) are not lineage.

The walk is breadth-first, one level of links at a time, so the *nearest* predecessor with results wins (the
newest results: each link moves back in time). Several predecessors with results at the same depth: the one
with the larger weight (pupils) wins, then the lower URN. Each URN is visited once, so cycles end the walk.

`resolve_lineages` resolves every target in one pass over levels (a dict of predecessor lists built once);
`resolve_one` is the same rule for one school.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

#: link types that are read as "the linked school merged into this one" when the linked school is not open
UNDIRECTED_PREFIXES = ("result of amalgamation", "merged")

MAX_DEPTH = 10


@dataclass(frozen=True)
class Lineage:
    """Where a school's figures come from. `source` is None when no school in the chain has results."""

    urn: int
    source: int | None
    path: tuple[int, ...]  # urn, ..., source (just (urn,) when the school has results itself)
    link_types: tuple[str, ...]  # the link followed at each step, len(path) - 1

    @property
    def depth(self) -> int:
        return len(self.path) - 1

    @property
    def is_self(self) -> bool:
        return self.source == self.urn

    @property
    def found(self) -> bool:
        return self.source is not None


def link_direction(link_type: str) -> str:
    """ "predecessor", "successor", "undirected" or "" (not lineage) for a GIAS link type."""
    low = link_type.strip().lower()
    if low.startswith("predecessor"):
        return "predecessor"
    if low.startswith("successor"):
        return "successor"
    if low.startswith(UNDIRECTED_PREFIXES):
        return "undirected"
    return ""


def predecessor_map(
    links: Iterable[tuple[int, int, str]], open_urns: Iterable[int] = ()
) -> dict[int, list[tuple[int, str]]]:
    """{urn: [(predecessor urn, link type as seen from urn), ...]} from (URN, LinkURN, LinkType) rows,
    each predecessor once per school, in ascending URN order."""
    open_set = set(open_urns)
    preds: dict[int, dict[int, str]] = {}
    for urn, link_urn, link_type in links:
        direction = link_direction(link_type)
        if direction == "predecessor":
            child, parent, kind = urn, link_urn, link_type
        elif direction == "successor":
            child, parent, kind = link_urn, urn, "Predecessor" + link_type.strip()[len("successor") :]
        elif direction == "undirected" and link_urn not in open_set and urn in open_set:
            child, parent, kind = urn, link_urn, link_type
        else:
            continue
        if child == parent:
            continue
        got = preds.setdefault(child, {})
        # a direct "Predecessor" row beats the inverted "Successor" row for the type shown
        if direction == "predecessor":
            got[parent] = kind
        else:
            got.setdefault(parent, kind)
    return {c: sorted(p.items()) for c, p in preds.items()}


def _pick(cands: Sequence[int], weight: Mapping[int, float]) -> int:
    return min(cands, key=lambda u: (-float(weight.get(u, 0.0) or 0.0), u))


def resolve_one(
    urn: int,
    preds: Mapping[int, Sequence[tuple[int, str]]],
    has_results: set[int] | frozenset[int],
    weight: Mapping[int, float] | None = None,
    max_depth: int = MAX_DEPTH,
) -> Lineage:
    """The lineage of one school (see the module docstring for the rule)."""
    weight = weight or {}
    if urn in has_results:
        return Lineage(urn, urn, (urn,), ())
    back: dict[int, tuple[int, str]] = {}  # urn -> (the school it was reached from, link type)
    seen = {urn}
    frontier = [urn]
    for _ in range(max_depth):
        nxt: list[int] = []
        for u in frontier:
            for p, kind in preds.get(u, ()):
                if p not in seen:
                    seen.add(p)
                    back[p] = (u, kind)
                    nxt.append(p)
        if not nxt:
            break
        hits = [p for p in nxt if p in has_results]
        if hits:
            return _lineage(urn, _pick(hits, weight), back)
        frontier = nxt
    return Lineage(urn, None, (urn,), ())


def _lineage(urn: int, source: int, back: Mapping[int, tuple[int, str]]) -> Lineage:
    path = [source]
    kinds: list[str] = []
    while path[-1] != urn:
        prev, kind = back[path[-1]]
        kinds.append(kind)
        path.append(prev)
    return Lineage(urn, source, tuple(reversed(path)), tuple(reversed(kinds)))


def resolve_lineages(
    targets: Iterable[int],
    preds: Mapping[int, Sequence[tuple[int, str]]],
    has_results: set[int] | frozenset[int],
    weight: Mapping[int, float] | None = None,
    max_depth: int = MAX_DEPTH,
) -> dict[int, Lineage]:
    """The lineage of every target: schools with results resolve to themselves at once; the others are
    walked level by level together (one pass over the frontier per depth), same rule as `resolve_one`."""
    weight = weight or {}
    out: dict[int, Lineage] = {}
    walking: dict[int, tuple[list[int], set[int], dict[int, tuple[int, str]]]] = {}
    for urn in targets:
        if urn in has_results:
            out[urn] = Lineage(urn, urn, (urn,), ())
        elif urn in preds:
            walking[urn] = ([urn], {urn}, {})
        else:
            out[urn] = Lineage(urn, None, (urn,), ())
    for _ in range(max_depth):
        if not walking:
            break
        done: list[int] = []
        for urn, (frontier, seen, back) in walking.items():
            nxt: list[int] = []
            for u in frontier:
                for p, kind in preds.get(u, ()):
                    if p not in seen:
                        seen.add(p)
                        back[p] = (u, kind)
                        nxt.append(p)
            hits = [p for p in nxt if p in has_results]
            if hits:
                out[urn] = _lineage(urn, _pick(hits, weight), back)
                done.append(urn)
            elif not nxt:
                out[urn] = Lineage(urn, None, (urn,), ())
                done.append(urn)
            else:
                frontier[:] = nxt
        for urn in done:
            del walking[urn]
    for urn in walking:
        out[urn] = Lineage(urn, None, (urn,), ())
    return out
