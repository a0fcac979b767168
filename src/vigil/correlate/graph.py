"""An incident's entity graph: alerts, the entities they name, the stores those sit in.

Edges: an alert `involves` each entity it names; a store-scoped entity is
`in_store` its store; two entities named by one alert are `seen_with` each
other, weighted by how many alerts name both. Sorted, so the same incident
always draws the same graph.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations

from vigil.correlate.types import EntityGraph, GraphEdge, GraphNode, Incident, IncidentEntity


def node_id(entity: IncidentEntity) -> str:
    if entity.kind == "store":
        return f"store:{entity.value}"
    return (
        f"{entity.kind}:{entity.value}@{entity.scope}"
        if entity.scope
        else f"{entity.kind}:{entity.value}"
    )


def entity_graph(incident: Incident) -> EntityGraph:
    by_value: dict[tuple[str, str], list[IncidentEntity]] = {}
    for entity in incident.entities:
        by_value.setdefault((entity.scope, entity.value), []).append(entity)
    nodes: dict[str, GraphNode] = {}
    edges: Counter[tuple[str, str, str]] = Counter()
    for entity in incident.entities:
        nodes[node_id(entity)] = GraphNode(node_id(entity), entity.kind, entity.value)
        if entity.scope and entity.kind != "store":
            store = f"store:{entity.scope}"
            nodes.setdefault(store, GraphNode(store, "store", entity.scope))
            edges[(node_id(entity), store, "in_store")] += 1
    for alert in incident.alerts:
        alert_node = f"alert:{alert.uid}"
        nodes[alert_node] = GraphNode(alert_node, "alert", alert.title)
        store = alert.store or ""
        named = []
        for kind, value in sorted(alert.entities.items()):
            found = _named(by_value, kind, store, value)
            if found is not None:
                named.append(node_id(found))
                edges[(alert_node, node_id(found), "involves")] += alert.count
        for a, b in combinations(sorted(n for n in named if not n.startswith("store:")), 2):
            edges[(a, b, "seen_with")] += alert.count
    return EntityGraph(
        nodes=tuple(sorted(nodes.values(), key=lambda n: n.id)),
        edges=tuple(
            GraphEdge(source, target, relation, weight)
            for (source, target, relation), weight in sorted(edges.items())
        ),
    )


def _named(
    by_value: dict[tuple[str, str], list[IncidentEntity]], kind: str, store: str, value: str
) -> IncidentEntity | None:
    """The incident's entity an alert names: same value in its store or estate-wide, same
    kind preferred (a `vendor` entity is filed as the `user` account it is)."""
    found = by_value.get((store, value), []) + by_value.get(("", value), [])
    return next((e for e in found if e.kind == kind), found[0] if found else None)
