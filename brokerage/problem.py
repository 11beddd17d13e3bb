"""Brokerage matching: the problem and solution types (pure: numpy arrays and dataclasses; no Django import).

`brokerage.engine` builds the candidate arcs and solves; it re-exports every name defined here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

COST_CAP = 65_535  # arc costs are clipped here (far below the unserved penalties; 16 bits sort by radix)

#: Reasons an unmatched need was left unserved (codes stored; labels shown).
UNMATCHED_REASONS = {
    "no_phase": "No offer covers this phase",
    "no_area": "No offer in this phase covers this area",
    "out_of_reach": "No compatible offer within reach (ladder, travel distance or trust rule)",
    "capacity": "Every compatible offer within reach is already at capacity",
}


@dataclass(frozen=True)
class Needs:
    """One row per need. `phase` is a bit mask (1 primary, 2 secondary, ...); `area` an area index."""

    school: IntArray
    lat: FloatArray
    lon: FloatArray
    phase: IntArray
    area: IntArray
    severity: IntArray  # 1 (lowest) .. 3 (highest)
    X: FloatArray  # n x F standardised intake features (NaN unknown -> treated as far: see _similarity)
    strength: FloatArray  # the needy school's family z-score in the need's area (NaN unknown)
    trust: IntArray  # -1 = none

    @property
    def n(self) -> int:
        return int(self.school.shape[0])


@dataclass(frozen=True)
class Supporters:
    """One row per offer. `phases` and `areas` are bit masks; `strength` is m x A family z-scores."""

    school: IntArray
    lat: FloatArray
    lon: FloatArray
    phases: IntArray
    areas: IntArray
    capacity: IntArray
    max_miles: FloatArray  # inf = no limit
    X: FloatArray
    strength: FloatArray  # m x A
    trust: IntArray

    @property
    def m(self) -> int:
        return int(self.school.shape[0])


@dataclass(frozen=True)
class Params:
    ladder: tuple[float, ...] = (25.0, 50.0, 75.0)  # finite rungs (miles); the national rung follows
    step_cost: tuple[int, ...] = (0, 300, 900, 3000)  # one per finite rung + the national rung
    national: bool = True
    national_k: int = 10
    miles_cost: float = 4.0
    similarity_cost: float = 150.0
    similarity_cap: float = 6.0
    strength_cost: float = 200.0
    strength_cap: float = 3.0
    trust_rule: str = "none"  # "none" | "exclude_same" | "prefer_same"
    other_trust_cost: int = 300
    unserved_base: int = 10_000_000
    unserved_step: int = 1_000_000
    alternatives: int = 3
    pricing_k: int = 20  # candidate pricing: start from each need's k cheapest arcs (0 = off)
    pricing_min_arcs: int = 200_000  # below this many arcs the full graph goes to the solver directly
    # what-if
    extra_capacity: tuple[tuple[int, int], ...] = ()  # (offer index, added places)
    exclude: tuple[int, ...] = ()  # offer indices

    def __post_init__(self) -> None:
        if len(self.step_cost) != len(self.ladder) + 1:
            raise ValueError("step_cost needs one entry per rung plus the national rung")
        if list(self.ladder) != sorted(self.ladder) or not self.ladder:
            raise ValueError("ladder must be a non-empty increasing list of miles")
        if self.trust_rule not in {"none", "exclude_same", "prefer_same"}:
            raise ValueError(f"unknown trust rule {self.trust_rule!r}")

    def with_(self, **changes: Any) -> Params:
        return replace(self, **changes)

    def unserved_cost(self, severity: IntArray) -> IntArray:
        return (self.unserved_base + self.unserved_step * np.asarray(severity, dtype=np.int64)).astype(
            np.int64
        )


DEFAULT_PARAMS = Params()


@dataclass(frozen=True)
class Arcs:
    """Candidate need -> offer arcs, sorted by (need, cost)."""

    need: IntArray
    offer: IntArray
    miles: FloatArray
    rung: IntArray  # index into ladder; len(ladder) = national
    similarity: FloatArray
    gap: FloatArray
    cost: IntArray

    @property
    def size(self) -> int:
        return int(self.need.shape[0])

    def take(self, mask: NDArray[np.bool_] | IntArray) -> Arcs:
        return Arcs(
            *(getattr(self, f)[mask] for f in ("need", "offer", "miles", "rung", "similarity", "gap", "cost"))
        )


@dataclass(frozen=True)
class Alternative:
    offer: int
    miles: float
    cost: int


@dataclass(frozen=True)
class Match:
    need: int
    offer: int
    miles: float
    rung: int
    similarity: float
    gap: float
    cost: int
    alternatives: tuple[Alternative, ...] = ()


@dataclass(frozen=True)
class Solution:
    assigned: IntArray  # per need: offer index or -1
    arc_of_need: IntArray  # per need: index into arcs or -1
    arcs: Arcs
    cost: int  # total objective (arc costs + unserved penalties)
    arc_cost: int
    served: int
    unmatched_reason: NDArray[np.object_]  # per need: "" or a key of UNMATCHED_REASONS
    nearest_miles: FloatArray  # per need: miles to the nearest compatible offer (inf: none)
    used: IntArray  # per offer: places used
    capacity: IntArray  # per offer: capacity after what-if changes
    params: Params
    timings: dict[str, float] = field(default_factory=dict)

    def matches(self, alternatives: int | None = None) -> list[Match]:
        k = self.params.alternatives if alternatives is None else alternatives
        a = self.arcs
        # arcs are sorted by (need, cost): each need's candidates are one slice
        starts = np.searchsorted(a.need, np.arange(len(self.assigned)), side="left")
        ends = np.searchsorted(a.need, np.arange(len(self.assigned)), side="right")
        out = []
        for i in np.flatnonzero(self.assigned >= 0):
            e = int(self.arc_of_need[i])
            alts = []
            for t in range(int(starts[i]), int(ends[i])):
                if t != e:
                    alts.append(Alternative(int(a.offer[t]), float(a.miles[t]), int(a.cost[t])))
                    if len(alts) >= k:
                        break
            out.append(
                Match(
                    int(i),
                    int(a.offer[e]),
                    float(a.miles[e]),
                    int(a.rung[e]),
                    float(a.similarity[e]),
                    float(a.gap[e]),
                    int(a.cost[e]),
                    tuple(alts),
                )
            )
        return out
