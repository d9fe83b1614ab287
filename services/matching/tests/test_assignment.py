"""The assignment of volunteers to needs and waiting requests: optimal (checked by brute force), never greedy,
always a solution, never an 'unmatched' slot that a volunteer could have filled."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest

from helpt_matching.assignment import Demand, assign


def brute_force(demands: list[Demand], capacities: dict[str, int]) -> tuple[int, int]:
    """(most slots that can be filled, least total metres among the ways that fill that many), by trying every way."""
    options = []
    for demand in demands:
        near = dict(demand.edges)
        options.append([chosen for size in range(min(demand.slots, len(near)) + 1)
                        for chosen in itertools.combinations(sorted(near), size)])
    best = (0, 0)
    for combination in itertools.product(*options):
        load = Counter(v for chosen in combination for v in chosen)
        if any(load[v] > capacities.get(v, 0) for v in load):
            continue
        filled = sum(len(chosen) for chosen in combination)
        metres = sum(dict(d.edges)[v] for d, chosen in zip(demands, combination, strict=True) for v in chosen)
        if filled > best[0] or (filled == best[0] and metres < best[1]):
            best = (filled, metres)
    return best


def random_instance(rng: random.Random) -> tuple[list[Demand], dict[str, int]]:
    volunteers = [f"v{i}" for i in range(rng.randint(1, 5))]
    capacities = {v: rng.randint(0, 2) for v in volunteers}
    demands = []
    for d in range(rng.randint(1, 3)):
        near = rng.sample(volunteers, rng.randint(0, len(volunteers)))
        demands.append(Demand(f"d{d}", rng.randint(1, 3), tuple((v, rng.choice([0, 100, 250, 900, rng.randint(0, 5000)]))
                                                                   for v in near)))
    return demands, capacities


def check(result, demands: list[Demand], capacities: dict[str, int]) -> None:
    """What any answer must respect: edges that exist, one slot per volunteer per need, capacities, slot counts."""
    edges = {(d.id, v): m for d in demands for v, m in d.edges}
    assert all(pair in edges for pair in result.pairs)
    assert len(set(result.pairs)) == len(result.pairs)
    load = Counter(v for _, v in result.pairs)
    assert all(load[v] <= capacities.get(v, 0) for v in load)
    for d in demands:
        assert len(result.volunteers_of(d.id)) + result.unmatched.get(d.id, 0) == d.slots
    assert result.total_metres == sum(edges[pair] for pair in result.pairs)


@pytest.mark.parametrize("seed", range(8))
def test_the_assignment_fills_the_most_slots_at_the_least_total_distance_as_brute_force_finds(seed):
    rng = random.Random(seed)
    for _ in range(60):
        demands, capacities = random_instance(rng)
        result = assign(demands, capacities)
        check(result, demands, capacities)
        filled, metres = brute_force(demands, capacities)
        assert (len(result.pairs), result.total_metres) == (filled, metres), (demands, capacities)


def test_a_collective_need_of_ten_gets_the_ten_that_make_the_least_total_distance_not_the_greedy_choice():
    # A need of 10 at the care centre and a waiting request across town compete for one volunteer "near-both",
    # who is nearest to each. Nearest-first would give "near-both" to the need and send the request's only
    # other reachable volunteer across town; the optimum keeps "near-both" for the request.
    need = Demand("need", 10, tuple([(f"centre-{i}", 200 * i) for i in range(10)] + [("near-both", 0), ("far", 7000)]))
    request = Demand("request", 1, (("near-both", 300), ("far", 9000)))
    capacities = {v: 1 for d in (need, request) for v, _ in d.edges}
    result = assign([need, request], capacities)
    assert result.volunteers_of("request") == ["near-both"]
    assert sorted(result.volunteers_of("need")) == sorted(f"centre-{i}" for i in range(10))
    assert (len(result.pairs), result.total_metres) == brute_force([need, request], capacities)
    greedy = 0 + sum(200 * i for i in range(9)) + 9000  # need first: near-both and centre-0..8; the request gets "far"
    assert result.total_metres < greedy


def test_a_need_larger_than_the_pool_leaves_exactly_the_shortfall_unmatched():
    need = Demand("need", 10, tuple((f"v{i}", 100 * i) for i in range(4)))
    result = assign([need], {f"v{i}": 3 for i in range(4)})
    assert sorted(result.volunteers_of("need")) == ["v0", "v1", "v2", "v3"]
    assert result.unmatched == {"need": 6}


def test_unmatched_never_beats_a_feasible_match_however_far_and_however_long_the_chain():
    # Filling both slots needs "a" to move to the second demand and the far volunteer to take the first:
    # dearer in metres than leaving one open at any distance short of the penalty, yet both are filled.
    first = Demand("1", 1, (("a", 0), ("far", 1_000_000)))
    second = Demand("2", 1, (("a", 1_000_000),))
    result = assign([first, second], {"a": 1, "far": 1})
    assert sorted(result.pairs) == [("1", "far"), ("2", "a")]
    assert result.unmatched == {}


def test_volunteers_without_capacity_and_demands_without_edges_are_simply_unmatched():
    result = assign([Demand("lonely", 2), Demand("busy", 1, (("tired", 10),))], {"tired": 0})
    assert result.pairs == () and result.unmatched == {"lonely": 2, "busy": 1}
    assert assign([], {}).pairs == ()


def test_the_same_instance_in_any_order_gives_the_same_answer():
    # Ties everywhere: the answer must not depend on the order demands, edges or volunteers arrive in.
    demands = [Demand(f"d{i}", 2, tuple((f"v{j}", 500) for j in range(6))) for i in range(3)]
    capacities = {f"v{j}": 1 for j in range(6)}
    first = assign(demands, capacities)
    rng = random.Random(7)
    for _ in range(10):
        shuffled = [Demand(d.id, d.slots, tuple(rng.sample(d.edges, len(d.edges)))) for d in rng.sample(demands, 3)]
        assert assign(shuffled, dict(rng.sample(list(capacities.items()), 6))) == first


def test_a_negative_distance_is_refused():
    with pytest.raises(ValueError, match="negative"):
        assign([Demand("d", 1, (("v", -1),))], {"v": 1})


def test_the_needs_table_agrees_with_the_default_catalogue_and_the_competences_volunteers_can_state():
    import json
    from pathlib import Path

    from helpt_intake.forms import COMPETENCES
    from helpt_matching.needs import known_competences, known_tasks

    catalogue = json.loads((Path(__file__).parents[3] / "services/intake/src/helpt_intake/data/catalogue.json").read_text())
    assert known_tasks() == {v["code"] for v in catalogue["vacancies"]}
    assert known_competences() == {code for code, _ in COMPETENCES}
