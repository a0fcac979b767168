"""One plugin mechanism for every kind: a typed registry filled by a decorator.

    scenarios: Registry[Scenario] = Registry("scenario")

    @scenarios.register("pos_malware")
    class PosMalware(Scenario): ...

Connectors, parsers, detectors, actions and video models use the same class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

P = TypeVar("P")


class PluginNotFoundError(LookupError):
    """No plugin of that kind has that name."""


class Registry(Generic[P]):
    """Plugins of one kind, by name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, type[P]] = {}

    def register(self, name: str) -> Callable[[type[P]], type[P]]:
        def add(plugin: type[P]) -> type[P]:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = plugin
            return plugin

        return add

    def get(self, name: str) -> type[P]:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise PluginNotFoundError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def items(self) -> list[tuple[str, type[P]]]:
        return sorted(self._entries.items())
