"""Matching engine: unit tests and properties (capacity, constraints, optimal vs greedy and brute force)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.baselines import brute_force, greedy
from brokerage import engine
from brokerage.engine import Needs, Params, Supporters


def make(
    need_pts,
    sup_pts,
    *,
    need_phase=None,
    need_area=None,
    severity=None,
    sup_phases=None,
    sup_areas=None,
    capacity=None,
    max_miles=None,
    need_trust=None,
    sup_trust=None,
    need_school=None,
    sup_school=None,
):
    n, m = len(need_pts), len(sup_pts)
    nl = np.asarray(need_pts, dtype=float).reshape(n, 2)
    sl = np.asarray(sup_pts, dtype=float).reshape(m, 2)
    needs = Needs(
        school=np.asarray(need_school if need_school is not None else np.arange(n), dtype=np.int64),
        lat=nl[:, 0],
        lon=nl[:, 1],
        phase=np.asarray(need_phase if need_phase is not None else [1] * n, dtype=np.int64),
        area=np.asarray(need_area if need_area is not None else [0] * n, dtype=np.int64),
        severity=np.asarray(severity if severity is not None else [1] * n, dtype=np.int64),
        X=np.zeros((n, 2)),
        strength=np.zeros(n),
        trust=np.asarray(need_trust if need_trust is not None else [-1] * n, dtype=np.int64),
    )
    sup = Supporters(
        school=np.asarray(
            sup_school if sup_school is not None else np.arange(1000, 1000 + m), dtype=np.int64
        ),
        lat=sl[:, 0],
        lon=sl[:, 1],
        phases=np.asarray(sup_phases if sup_phases is not None else [3] * m, dtype=np.int64),
        areas=np.asarray(sup_areas if sup_areas is not None else [0b111] * m, dtype=np.int64),
        capacity=np.asarray(capacity if capacity is not None else [2] * m, dtype=np.int64),
        max_miles=np.asarray(max_miles if max_miles is not None else [np.inf] * m, dtype=float),
        X=np.zeros((m, 2)),
        strength=np.zeros((m, 3)),
        trust=np.asarray(sup_trust if sup_trust is not None else [-1] * m, dtype=np.int64),
    )
    return needs, sup


# one degree of latitude is ~69.1 miles
LONDON = (51.5, -0.1)


def north(miles: float) -> tuple[float, float]:
    return (LONDON[0] + miles / 69.09, LONDON[1])


def test_nearest_supporter_chosen_and_explained():
    needs, sup = make([LONDON], [north(30), north(5)])
    sol = engine.solve(needs, sup)
    assert sol.served == 1 and sol.assigned[0] == 1
    (m,) = sol.matches()
    assert m.rung == 0 and abs(m.miles - 5) < 0.1
    assert [a.offer for a in m.alternatives] == [0]
    text = engine.explain(m, "Maths", sol.params)
    assert "5.0 miles away (within 25 miles)" in text and "maths" in text and "intake" in text


def test_capacity_respected_and_unmatched_reason_capacity():
    needs, sup = make([LONDON] * 3, [north(5)], capacity=[2])
    sol = engine.solve(needs, sup)
    assert sol.served == 2 and sol.used.tolist() == [2]
    assert list(sol.unmatched_reason).count("capacity") == 1


def test_severe_need_served_first():
    needs, sup = make([LONDON, north(1)], [north(40)], capacity=[1], severity=[1, 3])
    sol = engine.solve(needs, sup)
    assert sol.assigned.tolist() == [-1, 0]


def test_unmatched_reasons_phase_area_reach():
    needs, sup = make(
        [LONDON, LONDON, LONDON],
        [north(100)],
        need_phase=[2, 1, 1],
        need_area=[0, 2, 0],
        sup_phases=[1],
        sup_areas=[0b001],
        max_miles=[50.0],
    )
    sol = engine.solve(needs, sup)
    assert list(sol.unmatched_reason) == ["no_phase", "no_area", "out_of_reach"]
    assert np.isinf(sol.nearest_miles).all()


def test_ladder_national_rung_gives_an_option_and_costs_more():
    # the national rung is for needs with no compatible offer within the last finite rung
    needs, sup = make([LONDON, LONDON], [north(200), north(60)], need_area=[1, 0], sup_areas=[0b10, 0b01])
    sol = engine.solve(needs, sup)
    assert sol.served == 2
    rungs = sorted(m.rung for m in sol.matches())
    assert rungs == [2, 3]
    no_nat = engine.solve(needs, sup, Params(national=False))
    assert no_nat.served == 1


def test_trust_rules():
    needs, sup = make([LONDON], [north(5), north(20)], need_trust=[7], sup_trust=[7, 8])
    assert engine.solve(needs, sup).assigned[0] == 0
    assert engine.solve(needs, sup, Params(trust_rule="exclude_same")).assigned[0] == 1
    needs2, sup2 = make([LONDON], [north(20), north(21)], need_trust=[7], sup_trust=[8, 7])
    assert engine.solve(needs2, sup2, Params(trust_rule="prefer_same")).assigned[0] == 1


def test_own_school_never_matched():
    needs, sup = make([LONDON], [LONDON], need_school=[5], sup_school=[5])
    assert engine.solve(needs, sup).served == 0


def test_what_if_capacity_exclude_radius():
    needs, sup = make([LONDON] * 3, [north(5), north(10)], capacity=[1, 1])
    base = engine.solve(needs, sup)
    assert base.served == 2
    more = engine.solve(needs, sup, Params(extra_capacity=((0, 1),)))
    assert more.served == 3
    excl = engine.solve(needs, sup, Params(exclude=(0,)))
    assert excl.served == 1 and (excl.assigned != 0).all()
    narrow = engine.solve(needs, sup, Params(ladder=(2.0, 4.0, 6.0), national=False))
    assert narrow.served == 1


def test_empty_inputs():
    needs, sup = make([], [north(5)])
    assert engine.solve(needs, sup).served == 0
    needs, sup = make([LONDON], [])
    sol = engine.solve(needs, sup)
    assert sol.served == 0 and sol.unmatched_reason[0] == "no_phase"


# ---------------------------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------------------------
@st.composite
def instances(draw, max_needs=6, max_sups=4):
    n = draw(st.integers(0, max_needs))
    m = draw(st.integers(0, max_sups))
    pt = st.tuples(st.floats(51.0, 52.6), st.floats(-1.5, 0.5))
    need_pts = draw(st.lists(pt, min_size=n, max_size=n))
    sup_pts = draw(st.lists(pt, min_size=m, max_size=m))
    ints = lambda lo, hi, k: draw(st.lists(st.integers(lo, hi), min_size=k, max_size=k))  # noqa: E731
    needs, sup = make(
        need_pts,
        sup_pts,
        need_phase=ints(1, 3, n),
        need_area=ints(0, 2, n),
        severity=ints(1, 3, n),
        sup_phases=ints(1, 3, m),
        sup_areas=ints(0, 7, m),
        capacity=ints(0, 2, m),
        max_miles=[draw(st.sampled_from([20.0, 60.0, np.inf])) for _ in range(m)],
        need_trust=ints(-1, 1, n),
        sup_trust=ints(-1, 1, m),
        need_school=ints(0, 4, n),
        sup_school=ints(0, 6, m),
    )
    params = Params(
        trust_rule=draw(st.sampled_from(["none", "exclude_same", "prefer_same"])),
        national=draw(st.booleans()),
        national_k=draw(st.integers(1, 3)),
        ladder=draw(st.sampled_from([(25.0, 50.0, 75.0), (10.0, 20.0, 30.0)])),
    )
    return needs, sup, params


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_property_constraints_and_optimality(inst):
    needs, sup, params = inst
    sol = engine.solve(needs, sup, params)
    assert engine.check(needs, sup, sol) == []
    assert (sol.used <= sol.capacity).all()
    g = greedy(needs, sup, params)
    assert engine.check(needs, sup, g) == []
    assert sol.cost <= g.cost
    assert sol.cost == brute_force(needs, sup, params)
    # exact candidate pricing (forced on, starting from one arc per need) reaches the same optimum
    priced = engine.solve(needs, sup, params.with_(pricing_min_arcs=0, pricing_k=1))
    assert priced.cost == sol.cost and engine.check(needs, sup, priced) == []
    # every unserved need has a reason, every served need none
    assert all((r == "") == (a >= 0) for r, a in zip(sol.unmatched_reason, sol.assigned, strict=True))


@settings(max_examples=40, deadline=None)
@given(instances(max_needs=12, max_sups=6))
def test_property_what_if_more_capacity_never_serves_fewer(inst):
    needs, sup, params = inst
    base = engine.solve(needs, sup, params)
    more = engine.solve(needs, sup, params.with_(extra_capacity=tuple((j, 1) for j in range(sup.m))))
    assert more.cost <= base.cost and more.served >= base.served


def test_params_validation():
    with pytest.raises(ValueError):
        Params(ladder=(50.0, 25.0, 75.0))
    with pytest.raises(ValueError):
        Params(step_cost=(0, 1))
    with pytest.raises(ValueError):
        Params(trust_rule="maybe")
