"""Similar schools: strengths and weaknesses within the family, and two-way challenge pairs (pure: no Django).

Split out of `similarity.core`, which re-exports every name defined here; the inputs are its `PhaseData` and
`Families` (N x K family members, most similar first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from similarity.method import DEFAULT_METHOD, Method

if TYPE_CHECKING:
    from similarity.core import Families, PhaseData

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


# ---------------------------------------------------------------------------------------------------------------
# Strengths and weaknesses
# ---------------------------------------------------------------------------------------------------------------
STRENGTH, NEITHER, WEAKNESS = 1, 0, -1


@dataclass(frozen=True)
class Strengths:
    """N x M arrays: each school's position on each measure within its own family."""

    measures: tuple[str, ...]
    value: FloatArray
    se: FloatArray
    family_n: IntArray  # family members with a value
    family_mean: FloatArray
    family_sd: FloatArray  # ddof=0
    family_mean_se: FloatArray  # sqrt(sum SE_j^2) / n
    z: FloatArray  # (value - family_mean) / family_sd
    percentile: FloatArray  # 100 * (#below + 0.5 #equal) / n
    flag: NDArray[np.int8]  # +1 strength, -1 weakness, 0 neither / unknown


def compute_strengths(data: PhaseData, fam: Families, method: Method = DEFAULT_METHOD) -> Strengths:
    N, M = data.values.shape
    shape = (N, M)
    n = np.zeros(shape, dtype=np.int64)
    mean, sd, mean_se, z, pct = (np.full(shape, np.nan) for _ in range(5))
    flag = np.zeros(shape, dtype=np.int8)
    need = max(method.min_family_values, 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        for m in range(M):  # one measure at a time: contiguous N x K arrays
            v = data.values[:, m]
            se = data.se[:, m]
            fv = v[fam.index]
            valid = np.isfinite(fv)
            cnt = valid.sum(axis=1)
            enough = cnt >= need
            f0 = np.where(valid, fv, 0.0)
            mu = np.where(enough, f0.sum(axis=1) / cnt, np.nan)
            dev = np.where(valid, fv - mu[:, None], 0.0)
            s_ = np.where(enough, np.sqrt(np.square(dev).sum(axis=1) / cnt), np.nan)
            vi = v[:, None]
            below = (f0 < vi) & valid
            equal = (f0 == vi) & valid
            fse = se[fam.index]
            se_ok = (np.isfinite(fse) | ~valid).all(axis=1)
            mse = np.where(
                enough & se_ok, np.sqrt(np.where(valid, np.square(fse), 0.0).sum(axis=1)) / cnt, np.nan
            )
            n[:, m] = cnt
            mean[:, m] = mu
            sd[:, m] = s_
            mean_se[:, m] = mse
            z[:, m] = np.where(s_ > 0, (v - mu) / s_, np.nan)
            pct[:, m] = np.where(
                enough & np.isfinite(v), 100.0 * (below.sum(axis=1) + 0.5 * equal.sum(axis=1)) / cnt, np.nan
            )
            thr = method.strength_z * np.sqrt(np.square(se) + np.square(mse))
            diff = v - mu
            flag[:, m] = np.where(diff > thr, STRENGTH, np.where(-diff > thr, WEAKNESS, NEITHER))
    return Strengths(data.measures, data.values, data.se, n, mean, sd, mean_se, z, pct, flag)


# ---------------------------------------------------------------------------------------------------------------
# Challenge pairs
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChallengeMatrix:
    """N x K: for school i and its k-th family member j (within the radius), the two-way gains."""

    gain_self: FloatArray  # what i gains from j: sum of z_j - z_i over measures where j is clearly above i
    gain_other: FloatArray  # what j gains from i
    score: FloatArray  # min(gain_self, gain_other); 0 when not a pair
    we_learn: NDArray[np.bool_]  # N x K x M: j clearly above i
    they_learn: NDArray[np.bool_]  # N x K x M: i clearly above j

    def is_pair(self) -> BoolArray:
        return self.score > 0


@dataclass(frozen=True)
class ChallengePair:
    urn: int
    index: int
    miles: float
    score: float
    gain_self: float
    gain_other: float
    we_learn: tuple[str, ...]
    they_learn: tuple[str, ...]


def compute_challenge(
    data: PhaseData, fam: Families, st: Strengths, method: Method = DEFAULT_METHOD
) -> ChallengeMatrix:
    """Two-way challenge pairs, vectorised over N x K x M.

    j is *clearly above* i on measure m when v_j - v_i > z * sqrt(SE_i^2 + SE_j^2). Both schools are put on
    i's family scale: dz = (v_j - v_i) / sd_family(i). gain_i_from_j = sum of dz over measures where j is
    clearly above i; gain_j_from_i = sum of -dz where i is clearly above j. A pair needs both > 0 and
    j within the radius; score = min of the two gains.
    """
    N, K = fam.index.shape
    M = data.values.shape[1]
    g_self = np.zeros((N, K))
    g_other = np.zeros((N, K))
    we = np.zeros((N, K, M), dtype=bool)
    they = np.zeros((N, K, M), dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        for m in range(M):
            v, se = data.values[:, m], data.se[:, m]
            diff = v[fam.index] - v[:, None]
            thr = method.strength_z * np.sqrt(np.square(se)[:, None] + np.square(se[fam.index]))
            dz = diff / st.family_sd[:, m, None]
            usable = np.isfinite(dz) & np.isfinite(thr)
            w = usable & (diff > thr)
            t = usable & (-diff > thr)
            g_self += np.where(w, dz, 0.0)
            g_other -= np.where(t, dz, 0.0)
            we[:, :, m] = w
            they[:, :, m] = t
    near = fam.miles <= method.radius_miles
    score = np.where(near & (g_self > 0) & (g_other > 0), np.minimum(g_self, g_other), 0.0)
    return ChallengeMatrix(g_self, g_other, score, we, they)


def challenge_pairs(data: PhaseData, fam: Families, ch: ChallengeMatrix, i: int) -> list[ChallengePair]:
    """School i's challenge pairs, ranked by score (desc), then miles, then URN."""
    ks = np.flatnonzero(ch.score[i] > 0)
    out = [
        ChallengePair(
            urn=int(data.urn[fam.index[i, k]]),
            index=int(fam.index[i, k]),
            miles=float(fam.miles[i, k]),
            score=float(ch.score[i, k]),
            gain_self=float(ch.gain_self[i, k]),
            gain_other=float(ch.gain_other[i, k]),
            we_learn=tuple(m for m, f in zip(data.measures, ch.we_learn[i, k], strict=True) if f),
            they_learn=tuple(m for m, f in zip(data.measures, ch.they_learn[i, k], strict=True) if f),
        )
        for k in ks
    ]
    out.sort(key=lambda p: (-p.score, p.miles, p.urn))
    return out
