"""One optimal assignment of volunteers to demands: min-cost flow on a sparse candidate graph (docs/adr/0012).

A demand is a collective need's open slots or one waiting help request; its edges are its k nearest
eligible volunteers with the distance in metres. Each volunteer has a remaining capacity (how many
more tasks they may take this week) and takes at most one slot of a given demand. The network:

    source ─(slots, 0)→ demand ─(1, metres)→ volunteer ─(capacity, 0)→ sink
                        demand ─(slots, penalty)──────────────────────→ sink   ("unmatched")

so every instance has a solution. The per-slot penalty exceeds the cost of any augmenting path
(the longest distance times the number of volunteers, plus one), so leaving a slot unmatched never
beats a feasible match: the answer matches as many slots as possible and, among those answers,
has the least total distance. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

from ortools.graph.python import min_cost_flow

__all__ = ["Assignment", "Demand", "InfeasibleAssignment", "assign"]


@dataclass(frozen=True)
class Demand:
    """`slots` places to fill; `edges` the (volunteer, metres) pairs that may fill them (one slot per volunteer)."""

    id: Hashable
    slots: int
    edges: tuple[tuple[Hashable, int], ...] = ()


@dataclass(frozen=True)
class Assignment:
    pairs: tuple[tuple[Hashable, Hashable], ...]
    """(demand id, volunteer) chosen, in the demands' and then the volunteers' canonical order."""
    unmatched: Mapping[Hashable, int] = field(default_factory=dict)
    """Slots left open per demand (only demands with some)."""
    total_metres: int = 0

    def volunteers_of(self, demand: Hashable) -> list[Hashable]:
        return [v for d, v in self.pairs if d == demand]


class InfeasibleAssignment(RuntimeError):
    """The solver did not find an optimum (cannot happen with the unmatched arcs; a bug if it does)."""


def _key(value: Hashable) -> str:
    return str(value)


def assign(demands: Iterable[Demand], capacities: Mapping[Hashable, int]) -> Assignment:
    """The assignment that fills the most slots with the least total distance.

    Deterministic: the same demands and capacities give the same answer, in whatever order they come.
    Edges to volunteers without capacity are ignored; a volunteer listed twice for one demand counts once
    (the nearer edge). Distances must be non-negative integers (metres).
    """
    ordered = sorted((d for d in demands if d.slots > 0), key=lambda d: _key(d.id))
    edges: dict[int, dict[Hashable, int]] = {}
    for i, demand in enumerate(ordered):
        best: dict[Hashable, int] = {}
        for volunteer, metres in demand.edges:
            if metres < 0:
                raise ValueError("a distance cannot be negative")
            if capacities.get(volunteer, 0) > 0 and metres < best.get(volunteer, metres + 1):
                best[volunteer] = int(metres)
        edges[i] = best
    volunteers = sorted({v for best in edges.values() for v in best}, key=_key)
    if not ordered:
        return Assignment(())
    longest = max((m for best in edges.values() for m in best.values()), default=0)
    penalty = (longest + 1) * (len(volunteers) + 1)

    source, sink = 0, 1
    demand_node = {i: 2 + i for i in range(len(ordered))}
    volunteer_node = {v: 2 + len(ordered) + j for j, v in enumerate(volunteers)}
    tails: list[int] = []
    heads: list[int] = []
    caps: list[int] = []
    costs: list[int] = []
    choice_arcs: list[tuple[int, Hashable, int]] = []  # (demand index, volunteer, metres) per arc, in arc order

    def arc(tail: int, head: int, capacity: int, cost: int) -> None:
        tails.append(tail)
        heads.append(head)
        caps.append(capacity)
        costs.append(cost)

    for i, demand in enumerate(ordered):
        arc(source, demand_node[i], demand.slots, 0)
        arc(demand_node[i], sink, demand.slots, penalty)
    first_choice = len(tails)
    for i in range(len(ordered)):
        for volunteer in sorted(edges[i], key=_key):
            arc(demand_node[i], volunteer_node[volunteer], 1, edges[i][volunteer])
            choice_arcs.append((i, volunteer, edges[i][volunteer]))
    for volunteer in volunteers:
        arc(volunteer_node[volunteer], sink, min(capacities[volunteer], len(ordered)), 0)

    flow = min_cost_flow.SimpleMinCostFlow()
    for tail, head, capacity, cost in zip(tails, heads, caps, costs, strict=True):
        flow.add_arc_with_capacity_and_unit_cost(tail, head, capacity, cost)
    total = sum(d.slots for d in ordered)
    flow.set_node_supply(source, total)
    flow.set_node_supply(sink, -total)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise InfeasibleAssignment(f"min-cost flow ended with status {status}")

    pairs = []
    metres = 0
    filled = [0] * len(ordered)
    for offset, (i, volunteer, distance) in enumerate(choice_arcs):
        if flow.flow(first_choice + offset) > 0:
            pairs.append((ordered[i].id, volunteer))
            metres += distance
            filled[i] += 1
    unmatched = {d.id: d.slots - filled[i] for i, d in enumerate(ordered) if d.slots > filled[i]}
    return Assignment(tuple(pairs), unmatched, metres)
