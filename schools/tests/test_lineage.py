"""The results lineage walk (pure: schools.lineage)."""

from __future__ import annotations

import pytest

from schools.lineage import link_direction, predecessor_map, resolve_lineages, resolve_one


def test_link_directions() -> None:
    assert link_direction("Predecessor - merged") == "predecessor"
    assert link_direction("Successor") == "successor"
    assert link_direction("Result of Amalgamation") == "undirected"
    assert link_direction("Merged - expansion of school capacity") == "undirected"
    assert link_direction("Sixth Form Centre Link") == ""


def test_academy_takes_its_predecessors_results() -> None:
    # 147400 replaced 112966 in 2019: stored both ways in GIAS
    preds = predecessor_map([(147400, 112966, "Predecessor"), (112966, 147400, "Successor")])
    lin = resolve_one(147400, preds, {112966})
    assert lin.source == 112966 and lin.path == (147400, 112966) and lin.link_types == ("Predecessor",)
    assert lin.depth == 1 and not lin.is_self


def test_successor_link_alone_is_read_backwards() -> None:
    preds = predecessor_map([(10, 20, "Successor - merged")])
    assert preds == {20: [(10, "Predecessor - merged")]}
    assert resolve_one(20, preds, {10}).source == 10
    assert resolve_one(10, preds, {20}).source is None  # a successor is not a source of results


def test_nearest_predecessor_wins_then_larger_cohort_then_lower_urn() -> None:
    links = [(1, 2, "Predecessor"), (2, 3, "Predecessor"), (1, 4, "Predecessor"), (1, 5, "Predecessor")]
    preds = predecessor_map(links)
    assert resolve_one(1, preds, {3, 4}).source == 4  # depth 1 beats depth 2
    assert resolve_one(1, preds, {4, 5}, {4: 57, 5: 120}).source == 5  # larger cohort
    assert resolve_one(1, preds, {4, 5}).source == 4  # no weights: lower URN
    assert resolve_one(1, preds, {3}).path == (1, 2, 3)


def test_undirected_merger_points_to_the_closed_school() -> None:
    links = [(101277, 101276, "Result of Amalgamation"), (101276, 101277, "Result of Amalgamation")]
    preds = predecessor_map(links, open_urns={101277})
    assert resolve_one(101277, preds, {101276}).source == 101276
    assert resolve_one(101276, preds, {101277}).source is None


def test_cycles_end_and_school_with_results_is_its_own_source() -> None:
    preds = predecessor_map([(1, 2, "Predecessor"), (2, 1, "Predecessor")])
    assert resolve_one(1, preds, set()).source is None
    assert resolve_one(1, preds, {1}).is_self


@pytest.mark.parametrize("seed", range(5))
def test_batch_walk_equals_one_at_a_time(seed: int) -> None:
    import random

    rnd = random.Random(seed)
    kinds = ["Predecessor", "Successor", "Predecessor - merged", "Result of Amalgamation", "Other"]
    links = [(rnd.randrange(60), rnd.randrange(60), rnd.choice(kinds)) for _ in range(120)]
    open_urns = set(rnd.sample(range(60), 30))
    has = set(rnd.sample(range(60), 12))
    weight = {u: float(rnd.randrange(5)) for u in range(60)}
    preds = predecessor_map(links, open_urns)
    batch = resolve_lineages(range(60), preds, has, weight)
    for u in range(60):
        assert batch[u] == resolve_one(u, preds, has, weight)
