"""Tests of the pure similar-schools core: hand-checked small cases, properties, and the real pack."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from similarity.core import (
    NO_PARTNER,
    STRENGTH,
    WEAKNESS,
    challenge_pairs,
    compute_families,
    haversine_miles,
    national_recompute,
    prepare_phase,
    recompute_phase,
    school_summary,
    squared_distance,
    standard_errors,
)
from similarity.method import DEFAULT_METHOD, Method

MILES_PER_DEGREE = 3958.8 * math.pi / 180  # along a meridian


def toy_method(**kw: object) -> Method:
    base = dict(
        features=(("F1", 1.0), ("F2", 1.0)),
        headline=(("primary", ("H",)), ("secondary", ("H",))),
        headline_sigma_key=(("primary", "H"), ("secondary", "H")),
        sigma=(("H", 1.0), ("M1", 2.0), ("M2", 1.0)),
        measures=(("primary", ("M1", "M2")), ("secondary", ("M1", "M2"))),
        family_size=2,
        min_family_values=2,
    )
    base.update(kw)
    return Method(**base)  # type: ignore[arg-type]


def frame(urns: list[int], miles_north: Sequence[float], **cols: Sequence[object]) -> pd.DataFrame:
    df = pd.DataFrame({"URN": urns, "LAT": [50 + m / MILES_PER_DEGREE for m in miles_north], "LON": 0.0})
    for k, v in cols.items():
        df[k] = v
    return df


# Six schools (listed out of URN order). In URN order F1 = 0, 1, 2.2, 3, 4, 5 and F2 = 0, 0, 0, 0, 2, 2.
# Standardised by hand: s1 = population SD of F1, s2 = sqrt(8/9), so the F2 jump 0 -> 2 is 2/s2 = 3/sqrt(2).
SIX = frame(
    [105, 101, 103, 100, 104, 102],
    [101, 30, 80, 0, 200, 9.5],
    F1=[5, 1, 3, 0, 4, 2.2],
    F2=[2, 0, 0, 0, 2, 0],
    H=[4, 1, -1, 0, 3, 2],
    REGION=["B", "A", "B", "A", "B", "A"],
    PUPILS=[100.0] * 6,
)
F1_SORTED = [0, 1, 2.2, 3, 4, 5]


def test_standardisation_and_hand_distances() -> None:
    d = prepare_phase(SIX, "primary", toy_method())
    assert list(d.urn) == [100, 101, 102, 103, 104, 105]
    mean = sum(F1_SORTED) / 6
    s1 = math.sqrt(sum((x - mean) ** 2 for x in F1_SORTED) / 6)  # ddof = 0
    assert d.feature_sd == pytest.approx([s1, math.sqrt(8 / 9)])
    fam = compute_families(d, toy_method())
    urns = d.urn[fam.index]
    jump = 3 / math.sqrt(2)
    expected = {
        100: ([101, 102], [1 / s1, 2.2 / s1]),
        101: ([100, 102], [1 / s1, 1.2 / s1]),
        102: ([103, 101], [0.8 / s1, 1.2 / s1]),
        103: ([102, 101], [0.8 / s1, 2 / s1]),
        104: ([105, 103], [1 / s1, math.hypot(1 / s1, jump)]),
        105: ([104, 103], [1 / s1, math.hypot(2 / s1, jump)]),
    }
    for i, u in enumerate(d.urn):
        assert list(urns[i]) == expected[int(u)][0], u
        assert fam.distance[i] == pytest.approx(expected[int(u)][1])
    assert fam.miles[0] == pytest.approx([30, 9.5])


def test_exact_ties_go_to_the_lower_urn() -> None:
    # 7 and 5 have identical features, so they are exactly as similar to 9 (and to everyone else)
    df = frame([9, 7, 5, 3], [0, 5, 5, 1], F1=[0, 1, 1, 3.0], F2=[0, 0, 0, 0], H=[0, 1, 1, 2])
    r = recompute_phase(df, "primary", toy_method(family_size=1))
    d = r.data
    assert list(d.urn[r.families.index[:, 0]]) == [5, 7, 5, 5]  # 3 -> 5, 5 -> 7, 7 -> 5, 9 -> 5 (not 7)
    # 9's better members 5 and 7 are also equally far (same place): the partner is the lower URN
    r2 = recompute_phase(df, "primary", toy_method(family_size=2))
    assert d.urn[r2.partners.index[d.index_of(9)]] == 5
    assert r2.partners.miles[d.index_of(9)] == pytest.approx(5)


def test_partners_and_coverage_by_hand() -> None:
    m = toy_method()
    res = national_recompute({"primary": SIX}, m)
    r = res.phases["primary"]
    u = r.data.urn
    part = {int(u[i]): (int(u[j]) if j != NO_PARTNER else None) for i, j in enumerate(r.partners.index)}
    assert part == {100: 102, 101: 102, 102: None, 103: 101, 104: 105, 105: None}
    assert r.partners.miles[0] == pytest.approx(9.5)
    assert r.partners.miles[3] == pytest.approx(50)
    assert r.partners.miles[4] == pytest.approx(99)
    assert list(r.partners.within_radius) == [True, True, False, True, False, False]
    assert list(r.partners.top_of_family) == [False, False, True, False, False, True]
    curve = res.coverage.curve("primary")
    assert curve == pytest.approx({10: 100 / 6, 25: 200 / 6, 50: 50.0, 75: 50.0, 100: 400 / 6})
    assert res.coverage.percent("primary", 50, region="A") == pytest.approx(200 / 3)
    assert res.coverage.percent("primary", 50, region="B") == pytest.approx(100 / 3)


def test_robust_rule_by_hand() -> None:
    # 102 had a very poor 2017: its 2017-19 average (-1.5) is below 100's and 101's.
    df = SIX.assign(H_2017=[np.nan, np.nan, np.nan, np.nan, np.nan, -5.0])
    r = recompute_phase(df, "primary", toy_method())
    u = r.data.urn
    rob = {int(u[i]): (int(u[j]) if j != NO_PARTNER else None) for i, j in enumerate(r.robust_partners.index)}
    assert rob == {100: 101, 101: None, 102: None, 103: 101, 104: 105, 105: None}
    # one pupil each: SE = 1, so a gap must exceed 1.96 * sqrt(2) = 2.77
    r1 = recompute_phase(SIX.assign(PUPILS=1.0), "primary", toy_method())
    assert int(r1.robust_partners.index[0]) == NO_PARTNER  # 100: gaps 1 (101) and 2 (102) are not enough
    assert int(r1.robust_partners.index[3]) == 2  # 103 -> 102: gap 3 (101's gap 2 is not enough)
    assert r1.robust_partners.miles[3] == pytest.approx(70.5)
    assert not r1.robust_partners.within_radius[4]  # 104 -> 105 gap 1: no robust partner at all
    assert int(r1.robust_partners.index[4]) == NO_PARTNER
    # unknown pupil numbers: the uncertainty cannot be judged, so nothing is robustly better
    r2 = recompute_phase(SIX.assign(PUPILS=np.nan), "primary", toy_method())
    assert (r2.robust_partners.index == NO_PARTNER).all()


def test_standard_errors() -> None:
    se = standard_errors(
        np.array([50.0, 0.0, np.nan]), np.array([100.0, 100.0, 100.0]), "PTRWM_EXP", DEFAULT_METHOD
    )
    assert se[0] == pytest.approx(5.0)  # sqrt(.5 * .5 / 100) * 100
    assert se[1] == pytest.approx(math.sqrt(0.005 * 0.995 / 100) * 100)  # 0% clipped to 0.5/n
    assert math.isnan(se[2])
    assert standard_errors(np.array([1.0]), np.array([36.0]), "P8MEA", DEFAULT_METHOD)[0] == pytest.approx(
        0.2
    )
    assert math.isnan(standard_errors(np.array([1.0]), np.array([np.nan]), "READPROG", DEFAULT_METHOD)[0])


def test_strengths_by_hand() -> None:
    # all six alike in features, so each family is the other five
    df = frame(
        [1, 2, 3, 4, 5, 6],
        [0] * 6,
        F1=[1, 1, 1, 1, 1, 1.0],
        F2=[0] * 6,
        H=[0] * 6,
        M1=[10, 1, 2, 3, 4, 5],
        M2=[np.nan, 1, 1, 1, 1, 1],
        PUPILS=[4.0] * 6,
    )
    r = recompute_phase(df, "primary", toy_method(family_size=5))
    s = r.strengths
    assert s.measures == ("M1", "M2")
    # school 1: family values 1..5 -> mean 3, sd sqrt(2); SE = 2/sqrt(4) = 1; family-mean SE = sqrt(5)/5
    assert s.family_mean[0, 0] == pytest.approx(3)
    assert s.family_sd[0, 0] == pytest.approx(math.sqrt(2))
    assert s.z[0, 0] == pytest.approx(7 / math.sqrt(2))
    assert s.percentile[0, 0] == pytest.approx(100)
    assert s.family_mean_se[0, 0] == pytest.approx(math.sqrt(5) / 5)
    assert s.flag[0, 0] == STRENGTH  # 7 > 1.96 * sqrt(1 + 0.2) = 2.147
    # school 2 (value 1): family 10,2,3,4,5 -> mean 4.8, sd sqrt(7.76)
    assert s.z[1, 0] == pytest.approx(-3.8 / math.sqrt(7.76))
    assert s.percentile[1, 0] == 0
    assert s.flag[1, 0] == WEAKNESS
    # school 4 (value 3): family 10,1,2,4,5 -> mean 4.4; 1.4 < 2.147 -> neither
    assert s.flag[3, 0] == 0
    assert s.percentile[3, 0] == pytest.approx(40)
    # M2: no spread -> no z, no flag; school 1 has no value
    assert np.isnan(s.z[1, 1]) and s.flag[1, 1] == 0
    assert np.isnan(s.z[0, 1]) and np.isnan(s.percentile[0, 1])


def test_challenge_pairs_by_hand() -> None:
    # a strong in M1 / weak in M2, b the opposite, c and d in the middle; all in one place
    df = frame(
        [1, 2, 3, 4],
        [0, 0, 0, 0],
        F1=[0, 1, 2, 3.0],
        F2=[0] * 4,
        H=[0, 1, 2, 3],
        M1=[10, 0, 5, 5],
        M2=[0, 10, 5, 5],
        PUPILS=[100.0] * 4,
    )
    m = toy_method(family_size=3)
    r = recompute_phase(df, "primary", m)
    assert r.challenge is not None
    pairs = challenge_pairs(r.data, r.families, r.challenge, 0)
    sd = math.sqrt(50 / 9)  # a's family on M1 is {0, 5, 5}: mean 10/3, sd sqrt(50/9) (same for M2)
    assert [p.urn for p in pairs] == [2, 3, 4]  # c and d tie on score and miles: lower URN first
    assert pairs[0].score == pytest.approx(10 / sd)
    assert pairs[0].we_learn == ("M2",) and pairs[0].they_learn == ("M1",)
    assert pairs[1].score == pytest.approx(5 / sd)
    # c and d are identical: no pair between them
    assert 4 not in [p.urn for p in challenge_pairs(r.data, r.families, r.challenge, 2)]
    # outside the radius nobody is a pair
    far = recompute_phase(df.assign(LAT=[50, 52, 54, 56]), "primary", m)
    assert far.challenge is not None
    assert challenge_pairs(far.data, far.families, far.challenge, 0) == []
    summary = school_summary(r, 1, m)
    assert summary["challenge_pairs"][0]["urn"] == 2  # type: ignore[index]
    family = summary["family"]
    assert isinstance(family, list) and [f["urn"] for f in family] == [2, 3, 4]


def test_method_description_and_hash() -> None:
    m = DEFAULT_METHOD
    assert m.hash == Method().hash and len(m.hash) == 16
    assert m.with_(robust=True).hash != m.hash
    assert m.with_(family_size=40).hash != m.hash
    assert Method.from_dict(m.to_dict()) == m
    assert "\n" not in m.description() and "50 nearest" in m.description() and m.hash in m.description()
    assert "2018/19" in m.description()
    with pytest.raises(ValueError):
        Method(family_size=0)


def test_haversine() -> None:
    assert haversine_miles(np.array(50.0), np.array(0.0), np.array(51.0), np.array(0.0)) == pytest.approx(
        MILES_PER_DEGREE
    )
    # London (51.5074, -0.1278) to Manchester (53.4808, -2.2426): about 163 miles
    assert haversine_miles(np.array(51.5074), np.array(-0.1278), np.array(53.4808), np.array(-2.2426)) == (
        pytest.approx(163, abs=1)
    )


def test_prepare_drops_incomplete_rows() -> None:
    df = pd.concat(
        [SIX, frame([200, 201], [0, 0], F1=[1, np.nan], F2=[0, 0], H=[np.nan, 1])], ignore_index=True
    )
    d = prepare_phase(df, "primary", toy_method())
    assert d.n == 6 and dict(d.excluded) == {"no headline": 1, "no F1": 1}


# ---------------------------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------------------------
@st.composite
def phase_frames(draw: st.DrawFn) -> tuple[dict[str, pd.DataFrame], Method]:
    frames = {}
    start = 100
    for phase in ("primary", "secondary"):
        n = draw(st.integers(2, 30))
        ints = st.integers(0, 3)  # a coarse grid: many exact ties in features, headline and miles
        f1 = draw(st.lists(ints, min_size=n, max_size=n))
        f2 = draw(st.lists(ints, min_size=n, max_size=n))
        h = draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))
        h17 = draw(st.lists(st.one_of(st.none(), st.integers(-3, 3)), min_size=n, max_size=n))
        mi = draw(st.lists(st.integers(0, 12), min_size=n, max_size=n))
        pupils = draw(st.lists(st.sampled_from([1.0, 4.0, 30.0, 200.0, np.nan]), min_size=n, max_size=n))
        urns = draw(st.permutations(list(range(start, start + n))))
        start += n
        frames[phase] = frame(
            urns,
            [10.0 * x for x in mi],
            F1=f1,
            F2=f2,
            H=h,
            H_2017=[np.nan if x is None else x for x in h17],
            M1=h,
            M2=f1,
            PUPILS=pupils,
            REGION=["A" if x % 2 else "B" for x in mi],
        )
    k = draw(st.integers(1, 8))
    return frames, toy_method(
        family_size=k, radius_miles=40.0, coverage_radii=(0.0, 10.0, 25.0, 60.0, 1000.0)
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(phase_frames())
def test_properties(case: tuple[dict[str, pd.DataFrame], Method]) -> None:
    frames, m = case
    res = national_recompute(frames, m)
    all_urns = {p: set(df["URN"]) for p, df in frames.items()}
    for phase, r in res.phases.items():
        d, fam = r.data, r.families
        N, K = d.n, min(m.family_size, d.n - 1)
        assert fam.index.shape == (N, K)
        for i in range(N):
            members = fam.index[i]
            assert i not in members  # self excluded
            assert len(set(members)) == K
            assert set(d.urn[members]) <= all_urns[phase]  # same phase
            # brute force: sort every other school by (exact squared distance, URN)
            d2 = squared_distance(d.X[i][None, :], d.X)
            expect = sorted((j for j in range(N) if j != i), key=lambda j: (d2[j], d.urn[j]))[:K]
            assert list(members) == expect
        for p in (r.partners, r.robust_partners):
            for i in range(N):
                better = [
                    (fam.miles[i, k], d.urn[j])
                    for k, j in enumerate(fam.index[i])
                    if d.headline[j] > d.headline[i]
                ]
                if p.index[i] == NO_PARTNER:
                    if not p.robust:
                        assert not better and p.top_of_family[i]
                    continue
                j = int(p.index[i])
                assert j in fam.index[i]
                assert d.headline[j] > d.headline[i]  # strictly better
                if not p.robust:  # nearest better member, ties -> lower URN (robust: see the next test)
                    assert (p.miles[i], d.urn[j]) == min(better)
                assert bool(p.within_radius[i]) == (p.miles[i] <= m.radius_miles)
        # robust-better is a subset of better: a robust partner is never nearer than the default one
        has_d = r.partners.index != NO_PARTNER
        has_r = r.robust_partners.index != NO_PARTNER
        assert not (has_r & ~has_d).any()
        assert (r.robust_partners.miles[has_r] >= r.partners.miles[has_r]).all()
        for robust in (False, True):
            for region in ("", "A", "B"):
                curve = [v for _, v in sorted(res.coverage.curve(phase, robust, region).items())]
                if curve and not any(math.isnan(v) for v in curve):
                    assert curve == sorted(curve)  # monotone non-decreasing in R
        for radius in m.coverage_radii:
            assert res.coverage.percent(phase, radius, True) <= res.coverage.percent(phase, radius, False)
        # strengths flags only where a value exists; percentiles in range
        s = r.strengths
        pct = s.percentile[np.isfinite(s.percentile)]
        assert ((pct >= 0) & (pct <= 100)).all()
        assert (s.flag[np.isnan(s.value)] == 0).all()
        assert r.challenge is not None
        assert (r.challenge.score >= 0).all()
        assert (r.challenge.score[fam.miles > m.radius_miles] == 0).all()


@settings(max_examples=60, deadline=None)
@given(phase_frames())
def test_robust_partner_is_nearest_robustly_better(case: tuple[dict[str, pd.DataFrame], Method]) -> None:
    frames, m = case
    r = recompute_phase(frames["primary"], "primary", m)
    d, fam, p = r.data, r.families, r.robust_partners
    for i in range(d.n):
        ok = []
        for k, j in enumerate(fam.index[i]):
            gap = d.headline[j] - d.headline[i]
            se = math.sqrt(d.headline_se[i] ** 2 + d.headline_se[j] ** 2)
            if gap > 0 and d.headline_avg[j] > d.headline_avg[i] and gap > m.z * se:
                ok.append((fam.miles[i, k], d.urn[j]))
        if not ok:
            assert p.index[i] == NO_PARTNER
        else:
            assert (p.miles[i], d.urn[p.index[i]]) == min(ok)


# ---------------------------------------------------------------------------------------------------------------
# The real pack
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.pack
def test_national_figures_on_the_pack(pack_dir: Path) -> None:
    from similarity.pack import load_frames

    frames = load_frames(pack_dir)
    res = national_recompute(frames, DEFAULT_METHOD)
    pops = res.populations
    print(f"\nmethod {DEFAULT_METHOD.hash}: {DEFAULT_METHOD.description()}")
    print("populations:", pops, {p: dict(r.data.excluded) for p, r in res.phases.items()})
    # January 2019 census: 16,769 state-funded primary, 3,448 secondary; most have a published headline
    assert 13_000 <= pops["primary"] <= 16_769
    assert 2_800 <= pops["secondary"] <= 3_448
    for phase, r in res.phases.items():
        assert r.families.index.shape == (r.data.n, 50)
        assert (r.families.index != np.arange(r.data.n)[:, None]).all()
        for robust in (False, True):
            curve = res.coverage.curve(phase, robust)
            print(
                f"{phase:9s} {'robust' if robust else 'default':7s}",
                {k: round(v, 1) for k, v in curve.items()},
            )
            vals = list(curve.values())
            assert vals == sorted(vals) and 0 < vals[-1] <= 100
            for region in {row.region for row in res.coverage.rows if row.region}:
                rv = list(res.coverage.curve(phase, robust, region).values())
                assert rv == sorted(rv)
        for radius in DEFAULT_METHOD.coverage_radii:
            assert res.coverage.percent(phase, radius, True) <= res.coverage.percent(phase, radius, False)
        regions = {row.region for row in res.coverage.rows if row.phase == phase and row.region}
        assert len(regions) == 9  # every school has one of England's nine regions
        # a school at the top of its family has no partner; the rest do
        assert ((r.partners.index == NO_PARTNER) == r.partners.top_of_family).all()


def test_ties_beyond_the_first_candidates_are_requeried() -> None:
    # 40 schools with identical features: every distance is 0, so the KD-tree's first K + 1 + 8 candidates
    # cannot be trusted to hold the lowest URNs; the rows are re-queried until the tie is complete.
    n = 40
    urns = list(range(1000 + n - 1, 999, -1))
    df = frame(urns, [0.0] * n, F1=[1.0] * n, F2=[2.0] * n, H=list(range(n)))
    r = recompute_phase(df, "primary", toy_method(family_size=3))
    d = r.data
    assert [list(d.urn[row]) for row in r.families.index[:2]] == [[1001, 1002, 1003], [1000, 1002, 1003]]
    assert all(list(d.urn[row]) == [1000, 1001, 1002] for row in r.families.index[3:])


def test_pack_number_parsing() -> None:
    from similarity.pack import to_number

    s = pd.Series(["41%", "SUPP", "LOWCOV", "NA", "", " 2.5 ", "NP", "NE", "-0.3", "x"])
    out = to_number(s)
    assert out.iloc[0] == 41 and out.iloc[5] == 2.5 and out.iloc[8] == -0.3
    assert out.isna().sum() == 7
