"""How alerts fold: which entity kinds link alerts, in which scope, across how much time.

Linking kinds are the specific ones (a device, a cashier, a card, a vendor
account); the store only describes, or a store uid would glue every alert of a
store into one incident. Store-scoped keys (a till, a private address) link
within one store and a short gap; estate-wide keys (a vendor account, a card, a
public address) link across stores over a longer gap, which is how a campaign
across stores becomes one incident. Alerts that name nothing specific (an
after-hours door and till: only the store) link by their use case.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from vigil.correlate.errors import CorrelateConfigError
from vigil.detect.rules.base import parse_duration
from vigil.detect.types import ENTITY_KINDS

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class LinkSpec(BaseModel):
    """How one entity kind links alerts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scope: Literal["store", "estate"] = Field(
        description="store: the same value in another store is another entity; estate: one entity everywhere."
    )
    gap: Duration = Field(
        description="Alerts on the same key this close in event time (or closer) fold together."
    )


def _store(gap: str) -> LinkSpec:
    return LinkSpec(scope="store", gap=parse_duration(gap))


def _estate(gap: str) -> LinkSpec:
    return LinkSpec(scope="estate", gap=parse_duration(gap))


DEFAULT_LINKS = {
    "device": _store("2h"),
    "cashier": _store("8h"),
    "ip": _store("2h"),
    "user": _estate("24h"),
    "vendor": _estate("24h"),
    "card": _estate("24h"),
    "domain": _estate("24h"),
}

COMMON_VALUES = frozenset(
    {
        "",
        "-",
        "unknown",
        "none",
        "null",
        "n/a",
        "0.0.0.0",  # noqa: S104 - a value to ignore, not an address to bind
        "127.0.0.1",
        "::1",
        "255.255.255.255",
        "root",
        "admin",
        "administrator",
        "system",
        "guest",
        "anonymous",
    }
)
"""Values that name nobody in particular: they describe an incident, never link one."""


class CorrelateConfig(BaseModel):
    """Settings of the correlator; the defaults suit a retail estate's live stream."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    links: dict[str, LinkSpec] = Field(
        default_factory=lambda: dict(DEFAULT_LINKS),
        description="Entity kinds that link alerts; kinds left out (and `store`) only describe.",
    )
    public_ip: LinkSpec = Field(
        default_factory=lambda: _estate("24h"),
        description="How a public (internet) address links: estate-wide, a campaign key.",
    )
    use_case_only: LinkSpec | None = Field(
        default_factory=lambda: _store("2h"),
        description="Alerts naming nothing more specific than a store (an after-hours door and "
        "till), or nothing at all (the web shop's login failures), link with alerts of the same "
        "use case in the same store, or estate-wide; none: each stands alone.",
    )
    duplicate_window: Duration = Field(
        default=timedelta(hours=2),
        description="The same rule on the same entities within this time only counts as evidence.",
    )
    reopen_window: Duration = Field(
        default=timedelta(hours=24),
        description="New evidence this soon after a resolved or closed incident reopens it.",
    )
    keep_for: Duration = Field(
        default=timedelta(hours=48),
        description="How long after its newest evidence an incident stays in the correlator's memory.",
    )
    same_as: dict[str, str] = Field(
        default_factory=lambda: {"vendor": "user"},
        description="Entity kinds that name the same thing: a vendor entity is a user account, "
        "so a vendor alert and a sign-in alert of that account link.",
    )
    common_values: frozenset[str] = Field(
        default=COMMON_VALUES,
        description="Entity values (compared case-insensitively) that never link.",
    )

    @model_validator(mode="after")
    def _check(self) -> CorrelateConfig:
        named = set(self.links) | set(self.same_as) | set(self.same_as.values())
        unknown = sorted(named - set(ENTITY_KINDS))
        if unknown:
            raise ValueError(
                f"unknown entity kind(s) {', '.join(unknown)} (known: {', '.join(ENTITY_KINDS)})"
            )
        if "store" in self.links:
            raise ValueError("store cannot link alerts (use_case_only links store-level findings)")
        gaps = [spec.gap for spec in self.links.values()]
        gaps += [self.public_ip.gap, self.duplicate_window]
        if any(gap < timedelta(0) for gap in [*gaps, self.reopen_window]):
            raise ValueError("gaps and windows must not be negative")
        if self.keep_for < max(gaps):
            raise ValueError(f"keep_for ({self.keep_for}) is shorter than the longest gap")
        return self

    def key_kind(self, kind: str) -> str:
        """The kind a key is filed under (`vendor` -> `user`)."""
        return self.same_as.get(kind, kind)

    def spec(self, kind: str, public: bool = False) -> LinkSpec | None:
        """The link rule of a kind (public addresses have their own), None if it only describes."""
        if kind == "ip" and public and "ip" in self.links:
            return self.public_ip
        return self.links.get(kind)


def parse_config(data: Mapping[str, object]) -> CorrelateConfig:
    """Settings from a YAML/JSON mapping; every problem in one clear error."""
    try:
        return CorrelateConfig.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or 'config'}: {item['msg']}"
            for item in error.errors()
        )
        raise CorrelateConfigError(f"correlation settings: {problems}") from error
