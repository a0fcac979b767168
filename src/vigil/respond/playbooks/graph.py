"""The step graph of a playbook: where each step can lead, and the checks on it.

Edges: an action step leads to its `next` (or the step after it) and to its
`on_failure` step; a branch leads to each case's `goto` (and past itself when
every case has a condition). Every target must exist, the graph must have no
cycle (a run would never end, and a step would run twice), and every step must
be reachable from the first.
"""

from __future__ import annotations

from vigil.respond.playbooks.types import CONTINUE, END, STOP, ActionStep, BranchStep, Playbook

Problem = tuple[tuple[str | int, ...], str]


def success_target(playbook: Playbook, step: ActionStep) -> str:
    return step.next or playbook.following(step.id)


def failure_target(playbook: Playbook, step: ActionStep) -> str | None:
    """Where a failed step leads; None: the run stops."""
    if step.on_failure == STOP:
        return None
    if step.on_failure == CONTINUE:
        return success_target(playbook, step)
    return step.on_failure


def edges(
    playbook: Playbook, step: ActionStep | BranchStep
) -> list[tuple[tuple[str | int, ...], str]]:
    """(field path under the step, target) for every way out of the step."""
    if isinstance(step, BranchStep):
        found: list[tuple[tuple[str | int, ...], str]] = [
            (("branch", index, "goto"), case.goto) for index, case in enumerate(step.branch)
        ]
        if step.branch[-1].when is not None:
            found.append((("branch",), playbook.following(step.id)))
        return found
    found = [(("next",) if step.next else ("id",), success_target(playbook, step))]
    failure = failure_target(playbook, step)
    if failure is not None and step.on_failure != CONTINUE:
        found.append((("on_failure",), failure))
    return found


def _cycles(playbook: Playbook, graph: dict[str, list[str]]) -> list[list[str]]:
    state: dict[str, int] = {}
    cycles: list[list[str]] = []
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in graph.get(node, []):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for step in playbook.steps:
        if step.id not in state:
            visit(step.id)
    return cycles


def _reachable(playbook: Playbook, graph: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    todo = [playbook.steps[0].id]
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        todo.extend(graph.get(node, []))
    return seen


def graph_problems(playbook: Playbook) -> list[Problem]:
    """Duplicate ids, unknown targets, cases after a catch-all, cycles, unreachable steps."""
    found: list[Problem] = []
    index_of: dict[str, int] = {}
    for index, step in enumerate(playbook.steps):
        if step.id in index_of:
            found.append((("steps", index, "id"), f"step id {step.id!r} is used twice"))
        index_of.setdefault(step.id, index)
    graph: dict[str, list[str]] = {}
    for index, step in enumerate(playbook.steps):
        if isinstance(step, BranchStep):
            found.extend(
                (("steps", index, "branch", at), "only the last case may leave out `when`")
                for at, case in enumerate(step.branch[:-1])
                if case.when is None
            )
        for path, target in edges(playbook, step):
            if target == END:
                continue
            if target not in index_of:
                found.append((("steps", index, *path), f"no step {target!r} to go to"))
                continue
            graph.setdefault(step.id, []).append(target)
    for cycle in _cycles(playbook, graph):
        found.append(
            (("steps", index_of[cycle[0]], "id"), f"steps form a cycle: {' -> '.join(cycle)}")
        )
    reachable = _reachable(playbook, graph)
    found.extend(
        (("steps", index, "id"), f"step {step.id!r} is never reached")
        for index, step in enumerate(playbook.steps)
        if step.id not in reachable
    )
    return found
