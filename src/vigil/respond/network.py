"""Network containment at the store gateway: block, quarantine, rate-limit, geo-block.

Every change here is an nftables set element with a timeout (see
`vigil.respond.adapters.nftables`), so it ends by itself even if nobody rolls it
back; the rollback removes exactly the elements this execution added, never one
that was there before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import ip_network

from pydantic import Field, IPvAnyAddress, IPvAnyNetwork, field_validator, model_validator

from vigil.respond.actions import (
    Action,
    Applied,
    ExecutionContext,
    ExpiringParams,
    actions,
    seconds,
)
from vigil.respond.backends import Added, BlockList, IPAddress, IPNetwork, RateLimit
from vigil.respond.geo import CountryRanges
from vigil.respond.types import ActionParams, Change, RiskLevel

GATEWAY = Field(default="default", description="The store gateway, as named in the respond config.")
REASON = Field(default="", max_length=500, description="Why, in words, for the audit trail.")
NARROWEST_V4 = 8
NARROWEST_V6 = 32


def _not_too_wide(network: IPNetwork) -> IPNetwork:
    narrowest = NARROWEST_V4 if network.version == 4 else NARROWEST_V6
    if network.prefixlen < narrowest:
        raise ValueError(
            f"{network} is wider than /{narrowest}; block a narrower range or use geo_block"
        )
    return network


def _host(address: IPAddress) -> IPNetwork:
    return ip_network(address)


def _changes(gateway: str, what: str, items: Iterable[object], effect: str) -> tuple[Change, ...]:
    return tuple(Change(target=f"gateway {gateway} {what} {item}", effect=effect) for item in items)


def _detail(verb: str, added: Added) -> str:
    words = f"{verb} {', '.join(map(str, added.added)) or 'nothing new'}"
    if added.present:
        words += f"; already there: {', '.join(map(str, added.present))}"
    return words


def _added(
    gateway: str, what: str, added: Added, effect: str, detail: str, undo: ActionParams
) -> Applied:
    """The outcome of adding set elements: the undo only when this execution added one, so
    that a rollback never removes an element that was there before."""
    return Applied(
        detail=detail,
        changes=_changes(gateway, what, added.added, effect),
        undo=undo if added.added else None,
    )


def _removed(gateway: str, what: str, items: Iterable[object], detail: str) -> Applied:
    return Applied(detail=detail, changes=_changes(gateway, what, items, "removed"))


def _block(
    params: BlockIpParams | BlockRangeParams,
    networks: Sequence[IPNetwork],
    blocklist: BlockList,
    undo: ActionParams,
    context: ExecutionContext,
    limit: float,
) -> Applied:
    firewall = context.backends.firewall(params.gateway)
    added = firewall.block(networks, blocklist, params.expires_in, limit)
    effect = f"blocked, expires in {seconds(params.expires_in)} s"
    return _added(params.gateway, "blocklist", added, effect, _detail("blocked", added), undo)


# --- block an address or a range ---------------------------------------------------------


class BlockIpParams(ExpiringParams):
    address: IPvAnyAddress = Field(description="The address to cut off, both ways.")
    gateway: str = GATEWAY
    reason: str = REASON


class UnblockIpParams(ActionParams):
    address: IPvAnyAddress = Field(description="The address to let through again.")
    gateway: str = GATEWAY


@actions.register("block_ip")
class BlockIp(Action[BlockIpParams]):
    name = "block_ip"
    params_model = BlockIpParams
    risk = RiskLevel.MEDIUM
    blast_radius = "One address, to and from everything behind one store gateway."
    repeatable = True
    inverse = "unblock_ip"

    def apply(self, params: BlockIpParams, context: ExecutionContext, limit: float) -> Applied:
        undo = UnblockIpParams(address=params.address, gateway=params.gateway)
        return _block(params, [_host(params.address)], BlockList.ADDRESS, undo, context, limit)


@actions.register("unblock_ip")
class UnblockIp(Action[UnblockIpParams]):
    name = "unblock_ip"
    params_model = UnblockIpParams
    risk = RiskLevel.LOW
    blast_radius = "Lets one address through again."
    repeatable = True
    undoes = "block_ip"

    def apply(self, params: UnblockIpParams, context: ExecutionContext, limit: float) -> Applied:
        context.backends.firewall(params.gateway).unblock(
            [_host(params.address)], BlockList.ADDRESS, limit
        )
        return _removed(
            params.gateway, "blocklist", [params.address], f"unblocked {params.address}"
        )


class BlockRangeParams(ExpiringParams):
    network: IPvAnyNetwork = Field(
        description="The range to cut off, both ways (CIDR; at most a /8, or a /32 for IPv6)."
    )
    gateway: str = GATEWAY
    reason: str = REASON

    check_width = field_validator("network")(_not_too_wide)


class UnblockRangeParams(ActionParams):
    network: IPvAnyNetwork = Field(description="The range to let through again.")
    gateway: str = GATEWAY


@actions.register("block_range")
class BlockRange(Action[BlockRangeParams]):
    name = "block_range"
    params_model = BlockRangeParams
    risk = RiskLevel.HIGH
    blast_radius = "Every address of a range, to and from everything behind one store gateway."
    repeatable = True
    inverse = "unblock_range"

    def apply(self, params: BlockRangeParams, context: ExecutionContext, limit: float) -> Applied:
        undo = UnblockRangeParams(network=params.network, gateway=params.gateway)
        return _block(params, [params.network], BlockList.RANGE, undo, context, limit)


@actions.register("unblock_range")
class UnblockRange(Action[UnblockRangeParams]):
    name = "unblock_range"
    params_model = UnblockRangeParams
    risk = RiskLevel.LOW
    blast_radius = "Lets one range through again."
    repeatable = True
    undoes = "block_range"

    def apply(self, params: UnblockRangeParams, context: ExecutionContext, limit: float) -> Applied:
        context.backends.firewall(params.gateway).unblock([params.network], BlockList.RANGE, limit)
        return _removed(
            params.gateway, "blocklist", [params.network], f"unblocked {params.network}"
        )


# --- quarantine a device ------------------------------------------------------------------


class QuarantineParams(ExpiringParams):
    device: IPvAnyAddress = Field(description="The device's address (POS terminal, IoT).")
    management: list[IPvAnyAddress] = Field(
        min_length=1, description="Addresses the device may still reach and be reached from."
    )
    device_name: str = Field(
        default="", max_length=200, description="Asset name, for the incident."
    )
    gateway: str = GATEWAY
    reason: str = REASON

    @model_validator(mode="after")
    def _same_family(self) -> QuarantineParams:
        _check_family(self.device, self.management)
        return self


class ReleaseParams(ActionParams):
    device: IPvAnyAddress = Field(description="The quarantined device's address.")
    management: list[IPvAnyAddress] = Field(
        min_length=1, description="The management addresses it was quarantined with."
    )
    gateway: str = GATEWAY

    @model_validator(mode="after")
    def _same_family(self) -> ReleaseParams:
        _check_family(self.device, self.management)
        return self


def _check_family(device: IPAddress, management: Sequence[IPAddress]) -> None:
    mixed = [str(address) for address in management if address.version != device.version]
    if mixed:
        raise ValueError(f"management addresses {', '.join(mixed)} are not IPv{device.version}")


@actions.register("quarantine_device")
class QuarantineDevice(Action[QuarantineParams]):
    name = "quarantine_device"
    params_model = QuarantineParams
    risk = RiskLevel.HIGH
    blast_radius = "One device loses its network (a POS lane stops taking cards) except management."
    repeatable = True
    inverse = "release_device"

    def apply(self, params: QuarantineParams, context: ExecutionContext, limit: float) -> Applied:
        firewall = context.backends.firewall(params.gateway)
        fresh = firewall.quarantine(params.device, params.management, params.expires_in, limit)
        label = (
            f"{params.device_name} ({params.device})" if params.device_name else str(params.device)
        )
        if not fresh:
            return Applied(detail=f"{label} was already in quarantine")
        allowed = ", ".join(map(str, params.management))
        effect = f"quarantined except {allowed}, expires in {seconds(params.expires_in)} s"
        return Applied(
            detail=f"quarantined {label}; still reachable from {allowed}",
            changes=_changes(params.gateway, "quarantine", [params.device], effect),
            undo=ReleaseParams(
                device=params.device, management=params.management, gateway=params.gateway
            ),
        )


@actions.register("release_device")
class ReleaseDevice(Action[ReleaseParams]):
    name = "release_device"
    params_model = ReleaseParams
    risk = RiskLevel.LOW
    blast_radius = "Gives one device its network back."
    repeatable = True
    undoes = "quarantine_device"

    def apply(self, params: ReleaseParams, context: ExecutionContext, limit: float) -> Applied:
        context.backends.firewall(params.gateway).release(params.device, params.management, limit)
        return _removed(params.gateway, "quarantine", [params.device], f"released {params.device}")


# --- rate limit and geo block -------------------------------------------------------------


class RateLimitParams(ExpiringParams):
    network: IPvAnyNetwork = Field(
        description="Sources to limit, each address on its own (a single host is /32 or /128)."
    )
    packets_per_second: int = Field(ge=1, le=1_000_000, description="Packets a second per source.")
    burst: int = Field(default=0, ge=0, le=1_000_000, description="Extra packets allowed at once.")
    gateway: str = GATEWAY
    reason: str = REASON

    check_width = field_validator("network")(_not_too_wide)


class RemoveRateLimitParams(ActionParams):
    network: IPvAnyNetwork = Field(description="The limited sources.")
    packets_per_second: int = Field(ge=1, le=1_000_000, description="The limit that was set.")
    burst: int = Field(default=0, ge=0, le=1_000_000, description="The burst that was set.")
    gateway: str = GATEWAY


@actions.register("rate_limit")
class RateLimitSources(Action[RateLimitParams]):
    name = "rate_limit"
    params_model = RateLimitParams
    risk = RiskLevel.MEDIUM
    blast_radius = "Slows the sources of one range at one store gateway; others are untouched."
    repeatable = True
    inverse = "remove_rate_limit"

    def apply(self, params: RateLimitParams, context: ExecutionContext, limit: float) -> Applied:
        rate = RateLimit(params.packets_per_second, params.burst)
        firewall = context.backends.firewall(params.gateway)
        added = firewall.rate_limit([params.network], rate, params.expires_in, limit)
        effect = f"limited to {rate.packets_per_second}/s per source, expires in {seconds(params.expires_in)} s"
        undo = RemoveRateLimitParams(
            network=params.network,
            packets_per_second=params.packets_per_second,
            burst=params.burst,
            gateway=params.gateway,
        )
        detail = _detail("rate-limited", added)
        return _added(params.gateway, "rate limit", added, effect, detail, undo)


@actions.register("remove_rate_limit")
class RemoveRateLimit(Action[RemoveRateLimitParams]):
    name = "remove_rate_limit"
    params_model = RemoveRateLimitParams
    risk = RiskLevel.LOW
    blast_radius = "Lifts one rate limit."
    repeatable = True
    undoes = "rate_limit"

    def apply(
        self, params: RemoveRateLimitParams, context: ExecutionContext, limit: float
    ) -> Applied:
        rate = RateLimit(params.packets_per_second, params.burst)
        context.backends.firewall(params.gateway).remove_rate_limit([params.network], rate, limit)
        detail = f"lifted the limit on {params.network}"
        return _removed(params.gateway, "rate limit", [params.network], detail)


class GeoBlockParams(ExpiringParams):
    country: str = Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166 alpha-2 country code.")
    gateway: str = GATEWAY
    reason: str = REASON


class GeoUnblockParams(ActionParams):
    country: str = Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166 alpha-2 country code.")
    networks: list[IPvAnyNetwork] = Field(
        min_length=1,
        description="The ranges the geo block added (the table may have changed since).",
    )
    gateway: str = GATEWAY


@actions.register("geo_block")
class GeoBlock(Action[GeoBlockParams]):
    name = "geo_block"
    params_model = GeoBlockParams
    risk = RiskLevel.HIGH
    blast_radius = (
        "Every address the country table gives a country, at one store gateway (customers too)."
    )
    repeatable = True
    inverse = "geo_unblock"

    def apply(self, params: GeoBlockParams, context: ExecutionContext, limit: float) -> Applied:
        countries = context.countries or CountryRanges.sample()
        ranges = countries.ranges(params.country)
        firewall = context.backends.firewall(params.gateway)
        added = firewall.block(ranges, BlockList.GEO, params.expires_in, limit)
        code = params.country.upper()
        effect = f"blocked ({code}), expires in {seconds(params.expires_in)} s"
        undo = GeoUnblockParams(country=code, networks=list(added.added), gateway=params.gateway)
        detail = f"geo-blocked {code}: {len(added.added)} range(s) added, {len(added.present)} already there"
        return _added(params.gateway, "geo blocklist", added, effect, detail, undo)


@actions.register("geo_unblock")
class GeoUnblock(Action[GeoUnblockParams]):
    name = "geo_unblock"
    params_model = GeoUnblockParams
    risk = RiskLevel.LOW
    blast_radius = "Lets a country's ranges through again."
    repeatable = True
    undoes = "geo_block"

    def apply(self, params: GeoUnblockParams, context: ExecutionContext, limit: float) -> Applied:
        context.backends.firewall(params.gateway).unblock(params.networks, BlockList.GEO, limit)
        detail = f"geo-unblocked {params.country.upper()}"
        return _removed(params.gateway, "geo blocklist", params.networks, detail)
