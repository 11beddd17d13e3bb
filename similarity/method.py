"""The similar-schools method as one frozen, hashable value (pure: no Django import).

Every choice the national recompute makes is a field of `Method`. `Method.description()` renders it as one
line for pages, and `Method.hash` is a stable digest of the canonical JSON (`Method.to_json()`), so a stored
result can say exactly which method produced it. See docs/methodology-similarity.md.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

PHASES: tuple[str, ...] = ("primary", "secondary")

#: Census `SCHOOLTYPE` defining each phase's population.
CENSUS_TYPE: dict[str, str] = {"primary": "State-funded primary", "secondary": "State-funded secondary"}

#: Pupil-level standard deviations (assumptions, see docs/methodology-similarity.md §Constants).
#: KS2 progress scores are in scaled-score points; DfE's KS2 confidence intervals use a national pupil-level
#: SD of roughly 5.5-6.5 points per subject, taken here as 6.0. Progress 8 pupil-level SD about 1.2
#: (DfE secondary accountability guidance uses ~1.2-1.3). Attainment 8 pupil SD ~20 points, EBacc APS ~2.0.
DEFAULT_SIGMA: tuple[tuple[str, float], ...] = (
    ("READPROG", 6.0),
    ("WRITPROG", 6.0),
    ("MATPROG", 6.0),
    # mean of three subject progress scores, assuming pairwise correlation 0.5: 6 * sqrt((1 + 2*0.5) / 3)
    ("KS2_MEANPROG", 4.9),
    ("P8MEA", 1.2),
    ("ATT8SCR", 20.0),
    ("EBACCAPS", 2.0),
    ("READ_AVERAGE", 7.0),
    ("MAT_AVERAGE", 7.0),
    ("GPS_AVERAGE", 7.0),
)

DEFAULT_MEASURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "primary",
        (
            "READPROG",
            "WRITPROG",
            "MATPROG",
            "PTRWM_EXP",
            "PTREAD_EXP",
            "PTMAT_EXP",
            "PTGPS_EXP",
            "PTRWM_HIGH",
        ),
    ),
    ("secondary", ("P8MEA", "ATT8SCR", "PTL2BASICS_95", "PTEBACC_E_PTQ_EE", "EBACCAPS")),
)


@dataclass(frozen=True)
class Method:
    """Every configurable part of the similar-schools method. Immutable and hashable."""

    year: int = 2019  # year the academic year ends (2019 = 2018/19): census and results year
    #: headline per phase: the mean of these result columns (all required)
    headline: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("primary", ("READPROG", "WRITPROG", "MATPROG")),
        ("secondary", ("P8MEA",)),
    )
    #: name of the headline for the SE lookup in `sigma`
    headline_sigma_key: tuple[tuple[str, str], ...] = (("primary", "KS2_MEANPROG"), ("secondary", "P8MEA"))
    #: (feature column, weight); each feature is divided by its population SD (ddof=0) then weighted
    features: tuple[tuple[str, float], ...] = (
        ("PNUMFSMEVER", 1.0),
        ("PNUMEAL", 1.0),
        ("PSEN", 1.0),
        ("LOG_NOR", 1.0),
    )
    metric: str = "euclidean"
    family_size: int = 50
    radius_miles: float = 75.0
    coverage_radii: tuple[float, ...] = (10.0, 25.0, 50.0, 75.0, 100.0)
    earth_radius_miles: float = 3958.8
    robust: bool = False
    robust_years: tuple[int, ...] = (2017, 2018, 2019)
    z: float = 1.96  # robust partner test
    strength_z: float = 1.96  # strengths/weaknesses and "clear" differences in challenge pairs
    min_family_values: int = 10  # a measure needs this many family values for a z-score/percentile
    measures: tuple[tuple[str, tuple[str, ...]], ...] = DEFAULT_MEASURES
    sigma: tuple[tuple[str, float], ...] = DEFAULT_SIGMA
    notes: tuple[str, ...] = field(default=())
    #: the year of each phase's headline and measures when it is not `year` (e.g. (("primary", 2019),) for
    #: 2024/25 families with the last published KS2 progress)
    headline_year: tuple[tuple[str, int], ...] = ()
    #: take a school's results from its results lineage (nearest GIAS predecessor with results) when it has none
    lineage: bool = False
    #: schools without a headline still get a family (they get no partner and are nobody's partner)
    require_headline: bool = True
    #: a partner's latest Ofsted judgement must not be one of these (empty: any judgement)
    partner_exclude_ratings: tuple[str, ...] = ("Requires Improvement", "Inadequate")

    def __post_init__(self) -> None:
        if self.family_size < 1:
            raise ValueError("family_size must be >= 1")
        if self.metric != "euclidean":
            raise ValueError("only the euclidean metric is implemented")
        if any(w <= 0 for _, w in self.features):
            raise ValueError("feature weights must be positive")
        if list(self.coverage_radii) != sorted(self.coverage_radii):
            raise ValueError("coverage_radii must be increasing")

    # -- lookups -----------------------------------------------------------------------------------------
    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f for f, _ in self.features)

    @property
    def feature_weights(self) -> tuple[float, ...]:
        return tuple(w for _, w in self.features)

    def headline_columns(self, phase: str) -> tuple[str, ...]:
        return dict(self.headline)[phase]

    def measures_for(self, phase: str) -> tuple[str, ...]:
        return dict(self.measures).get(phase, ())

    def headline_year_for(self, phase: str) -> int:
        return dict(self.headline_year).get(phase, self.year)

    def sigma_for(self, code: str) -> float | None:
        return dict(self.sigma).get(code)

    def headline_sigma(self, phase: str) -> float:
        s = self.sigma_for(dict(self.headline_sigma_key)[phase])
        if s is None:
            raise ValueError(f"no sigma for the {phase} headline")
        return s

    def with_(self, **changes: Any) -> Method:
        """A copy with some fields changed (e.g. `DEFAULT_METHOD.with_(robust=True)`)."""
        return replace(self, **changes)

    # -- identity ----------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no whitespace): the input of `hash`."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Method:
        def tup(v: Any) -> Any:
            return tuple(tup(x) for x in v) if isinstance(v, list | tuple) else v

        return cls(**{k: tup(v) for k, v in d.items()})

    @property
    def hash(self) -> str:
        """Stable 16-hex-digit SHA-256 prefix of the canonical JSON."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def description(self) -> str:
        feats = ", ".join(f"{f}×{w:g}" if w != 1 else f for f, w in self.features)

        def year_of(p: str) -> str:
            y = self.headline_year_for(p)
            return f" {y - 1}/{str(y)[-2:]}" if y != self.year else ""

        heads = "; ".join(
            (f"{p}: mean of {'+'.join(c)}" if len(c) > 1 else f"{p}: {c[0]}") + year_of(p)
            for p, c in self.headline
        )
        better = (
            f"better = higher headline, also on the {min(self.robust_years)}-{max(self.robust_years)} average, "
            f"by more than {self.z:g}×combined SE"
            if self.robust
            else "better = strictly higher headline"
        )
        yr = f"{self.year - 1}/{str(self.year)[-2:]}"
        extra = ""
        if self.lineage:
            extra += "; results through GIAS predecessor links when a school has none"
        if not self.require_headline:
            extra += "; schools without a headline get a family but no partner"
        quality = (
            f"not rated {' or '.join(self.partner_exclude_ratings)} at its latest inspection"
            if self.partner_exclude_ratings
            else "any Ofsted judgement"
        )
        return (
            f"Similar schools {yr}: {self.family_size} nearest same-phase schools by Euclidean distance on "
            f"SD-standardised {feats}; headline {heads}; {better}; partner = nearest better family member "
            f"{quality}, radius {self.radius_miles:g} miles (great-circle, R={self.earth_radius_miles:g} mi)"
            f"{extra} [method {self.hash}]"
        )

    def plain_words(self) -> str:
        """The method for a head, governor or parent: no column names, no formulas (those are in `description`,
        shown under "How this is worked out")."""
        words = {
            "PNUMFSMEVER": "the share of pupils eligible for free school meals in the last six years",
            "PNUMEAL": "the share with English as an additional language",
            "PSEN": "the share with special educational needs",
            "LOG_NOR": "the school's size",
            "NOR": "the school's size",
        }
        named = [words.get(f, f) for f, _ in self.features]
        feats = ", ".join(named[:-1]) + (" and " if len(named) > 1 else "") + named[-1]
        yr = f"{self.year - 1}/{str(self.year)[-2:]}"
        secondary = dict(self.headline).get("secondary", ())
        sec_word = "Attainment 8" if any("ATT8" in c for c in secondary) else "Progress 8"
        better = (
            "clearly better results, in the latest year and on average over three years, allowing for the "
            "uncertainty of small schools"
            if self.robust
            else "better results"
        )
        quality = (
            f" whose latest Ofsted judgement is not {' or '.join(r.lower() for r in self.partner_exclude_ratings)}"
            if self.partner_exclude_ratings
            else ""
        )
        return (
            f"Each school's family is the {self.family_size} schools of the same phase whose pupils were most like "
            f"its own in the January {self.year} census ({yr}): {feats}. Results compared: progress in reading, "
            f"writing and maths at the end of primary, {sec_word} at the end of secondary. The suggested partner "
            f"is the nearest family member with {better}{quality}, within {self.radius_miles:g} miles as the crow "
            f"flies, or the nearest beyond that when none is within reach."
        )


DEFAULT_METHOD = Method()
ROBUST_METHOD = DEFAULT_METHOD.with_(robust=True)

#: 2024/25 intake: every open mainstream school in the 2024/25 census gets a family; secondary headline
#: Attainment 8 2024/25 (Progress 8 was not published for 2024/25), primary headline the last published KS2
#: progress (2018/19) of the school or its results lineage. Infant schools have no KS2 results: family, no
#: partner.
INTAKE_2025_METHOD = DEFAULT_METHOD.with_(
    year=2025,
    headline=(("primary", ("READPROG", "WRITPROG", "MATPROG")), ("secondary", ("ATT8SCR",))),
    headline_sigma_key=(("primary", "KS2_MEANPROG"), ("secondary", "ATT8SCR")),
    headline_year=(("primary", 2019),),
    robust_years=(2025,),
    measures=(
        DEFAULT_MEASURES[0],
        ("secondary", ("ATT8SCR", "PTL2BASICS_94", "PTEBACC_94", "PTEBACC_E_PTQ_EE")),
    ),
    lineage=True,
    require_headline=False,
)
