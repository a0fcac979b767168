"""`{{ ... }}` placeholders in step parameters, filled from the incident and the estate.

    params:
      address: "{{ public_ip }}"               # a whole placeholder keeps its type
      network: "{{ item | subnet }}"           # 203.0.113.7 -> 203.0.113.0/24
      title: "POS malware at {{ store.name }}" # embedded: always text

Variables (`VARIABLES`) are checked when a playbook loads; a value the incident
does not have (no public IP, no known device) is a `TemplateError` when the step
runs, and the step fails with that message instead of acting on a guess.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from pydantic import JsonValue

from vigil.detect.types import ENTITY_KINDS
from vigil.estate.types import SegmentKind
from vigil.respond.geo import CountryRanges
from vigil.respond.playbooks.errors import TemplateError
from vigil.respond.playbooks.facts import Situation
from vigil.respond.playbooks.vocab import SeverityName

Value = str | int | float | bool | list[str]
Json = JsonValue

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
REVIEW_MARGIN = timedelta(minutes=10)
LONGEST_REVIEW = timedelta(hours=24)
MAX_CAMERAS = 32


def _one(values: tuple[str, ...], what: str) -> str:
    if not values:
        raise TemplateError(f"the incident has no {what}")
    return values[0]


def _asset_field(name: str) -> Callable[[Situation], Value]:
    def read(situation: Situation) -> Value:
        if not situation.assets:
            raise TemplateError("none of the incident's devices is an asset the estate knows")
        store, asset = situation.assets[0]
        if name == "segment":
            kind = situation.segment_kind(store, asset)
            return str(kind) if kind else asset.segment
        value = getattr(asset, name)
        if value is None:
            raise TemplateError(f"asset {asset.uid} has no {name}")
        return str(value)

    return read


def _store(situation: Situation) -> str:
    return _one(situation.facts.stores, "store")


def _store_name(situation: Situation) -> str:
    return situation.stores[0].name if situation.stores else _store(situation)


def _region(situation: Situation) -> str:
    return _one(situation.regions, "region the estate knows")


def _management(situation: Situation) -> list[str]:
    if not situation.stores:
        raise TemplateError("the estate does not know the incident's store")
    store = situation.stores[0]
    found = [
        asset.ip
        for asset in store.assets
        if asset.ip is not None
        and (segment := store.segment(asset.segment)) is not None
        and segment.kind is SegmentKind.MANAGEMENT
    ]
    if not found:
        raise TemplateError(f"store {store.uid} has no management addresses in the estate")
    return sorted(found)


def _cameras(situation: Situation) -> list[str]:
    if not situation.stores:
        raise TemplateError("the estate does not know the incident's store")
    found = [asset.uid for asset in situation.stores[0].assets if asset.kind == "camera"]
    if not found:
        raise TemplateError(f"store {situation.stores[0].uid} has no cameras in the estate")
    return sorted(found)[:MAX_CAMERAS]


def _review_start(situation: Situation) -> str:
    return (situation.facts.first_seen - REVIEW_MARGIN).isoformat()


def _review_end(situation: Situation) -> str:
    start = situation.facts.first_seen - REVIEW_MARGIN
    return min(situation.facts.last_seen + REVIEW_MARGIN, start + LONGEST_REVIEW).isoformat()


def _entity(kind: str) -> Callable[[Situation], Value]:
    return lambda situation: _one(situation.facts.values(kind), f"{kind} entity")


def _entities(kind: str) -> Callable[[Situation], Value]:
    """Every value of one entity kind; none is a fact worth saying in a message, not an error
    (a scalar `entity.KIND` or a `for_each` over addresses still needs one)."""
    return lambda situation: list(situation.facts.values(kind))


VARIABLES: dict[str, Callable[[Situation], Value]] = {
    "incident.uid": lambda s: s.facts.uid,
    "incident.title": lambda s: s.facts.title,
    "incident.severity": lambda s: SeverityName.of(s.facts.severity).value,
    "incident.risk": lambda s: round(s.facts.risk),
    "incident.use_case": lambda s: s.facts.use_case,
    "incident.first_seen": lambda s: s.facts.first_seen.isoformat(),
    "incident.last_seen": lambda s: s.facts.last_seen.isoformat(),
    "incident.review_start": _review_start,
    "incident.review_end": _review_end,
    "now": lambda s: s.now.isoformat(),
    "store.uid": _store,
    "store.name": _store_name,
    "store.region": _region,
    "store.gateway": lambda s: s.gateway(_store(s)),
    "store.management": _management,
    "store.cameras": _cameras,
    "asset.uid": _asset_field("uid"),
    "asset.name": _asset_field("name"),
    "asset.ip": _asset_field("ip"),
    "asset.kind": _asset_field("kind"),
    "asset.segment": _asset_field("segment"),
    "public_ip": lambda s: _one(s.facts.public_ips(), "public IP entity"),
    "public_ips": lambda s: list(s.facts.public_ips()) or _none("public IP entity"),
    **{f"entity.{kind}": _entity(kind) for kind in ENTITY_KINDS},
    **{f"entities.{kind}": _entities(kind) for kind in ENTITY_KINDS},
}
"""Every name a placeholder may use."""

LISTS = frozenset(
    {"store.management", "store.cameras", "public_ips"} | {f"entities.{k}" for k in ENTITY_KINDS}
)
"""The variables that hold lists: what `for_each` may walk."""


def _none(what: str) -> list[str]:
    raise TemplateError(f"the incident has no {what}")


def _network(value: str, v4: int, v6: int) -> str:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        raise TemplateError(f"{value!r} is not an IP address") from None
    prefix = v4 if address.version == 4 else v6
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _country(value: str, situation: Situation) -> str:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        raise TemplateError(f"{value!r} is not an IP address") from None
    table = situation.countries or _sample_countries()
    for code, networks in sorted(table.by_country.items()):
        if any(address in network for network in networks):
            return code
    raise TemplateError(f"the country table has no country for {address}")


@cache
def _sample_countries() -> CountryRanges:
    return CountryRanges.sample()


Filter = Callable[[Value, Situation], Value]


def _each(function: Callable[[str, Situation], str]) -> Filter:
    def apply(value: Value, situation: Situation) -> Value:
        if isinstance(value, list):
            return sorted({function(part, situation) for part in value})
        return function(str(value), situation)

    return apply


def _join(value: Value, situation: Situation) -> Value:
    if isinstance(value, list):
        return ", ".join(value) if value else "none named"
    return str(value)


FILTERS: dict[str, Filter] = {
    "host": _each(lambda value, _: _network(value, 32, 128)),
    "subnet": _each(lambda value, _: _network(value, 24, 64)),
    "country": _each(_country),
    "join": _join,
}
"""`host`: the address as a /32 (/128); `subnet`: its /24 (/64); `country`: its ISO code
in the country table; `join`: a list as text. On a list, each value (duplicates dropped)."""


@dataclass(frozen=True)
class Expression:
    """One placeholder: a variable (or `item`) and the filters after it."""

    variable: str
    filters: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Expression:
        variable, *filters = (part.strip() for part in text.split("|"))
        return cls(variable, tuple(filters))


def problems(value: Json, with_item: bool) -> list[str]:
    """Every unknown variable or filter in a parameter value (nested ones too)."""
    found: list[str] = []
    if isinstance(value, str):
        for match in PLACEHOLDER.finditer(value):
            expression = Expression.parse(match.group(1))
            if expression.variable == "item":
                if not with_item:
                    found.append("`item` is only defined in a step with `for_each`")
            elif expression.variable not in VARIABLES:
                found.append(f"unknown variable {expression.variable!r}")
            found.extend(
                f"unknown filter {name!r}" for name in expression.filters if name not in FILTERS
            )
    elif isinstance(value, list):
        for part in value:
            found.extend(problems(part, with_item))
    elif isinstance(value, dict):
        for part in value.values():
            found.extend(problems(part, with_item))
    return found


def _evaluate(expression: Expression, situation: Situation, item: Value | None) -> Value:
    if expression.variable == "item":
        if item is None:
            raise TemplateError("`item` is only defined in a step with `for_each`")
        value = item
    else:
        try:
            value = VARIABLES[expression.variable](situation)
        except KeyError:
            raise TemplateError(f"unknown variable {expression.variable!r}") from None
    for name in expression.filters:
        if name not in FILTERS:
            raise TemplateError(f"unknown filter {name!r}")
        value = FILTERS[name](value, situation)
    return value


def render(value: Json, situation: Situation, item: Value | None = None) -> Json:
    """The value with every placeholder filled; a lone placeholder keeps its type."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value.strip())
        if whole:
            result = _evaluate(Expression.parse(whole.group(1)), situation, item)
            return list(result) if isinstance(result, list) else result
        return PLACEHOLDER.sub(
            lambda m: _text(_evaluate(Expression.parse(m.group(1)), situation, item)), value
        )
    if isinstance(value, list):
        return [render(part, situation, item) for part in value]
    if isinstance(value, dict):
        return {key: render(part, situation, item) for key, part in value.items()}
    return value


def items(variable: str, situation: Situation) -> list[str]:
    """The values a `for_each` step walks."""
    value = render(f"{{{{ {variable} }}}}", situation)
    if not isinstance(value, list):
        raise TemplateError(f"for_each needs a list; {variable} is {value!r}")
    return [str(part) for part in value]


def _text(value: Value) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


def render_params(
    params: Mapping[str, Json], situation: Situation, item: Value | None
) -> dict[str, Json]:
    return {key: render(value, situation, item) for key, value in params.items()}
