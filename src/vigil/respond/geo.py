"""Country -> IP ranges, for geo-blocking at the store edge.

The ranges come from the same `network,country` CSV that enrichment uses to put
a country on an address (`vigil/ingest/geo_country.csv`, a small hand-written
sample; see `vigil.ingest.enrich`). An operator passes a full table of the same
shape. Ranges of one country are merged where they touch, so the gateway's
interval set gets as few elements as possible; IPv4 and IPv6 rows both count.
"""

from __future__ import annotations

import csv
import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from vigil.respond.backends import IPNetwork
from vigil.respond.errors import ConfigError

SAMPLE = "ingest/geo_country.csv"
"""The table `vigil.ingest.enrich` reads; named by path so that respond loads no polars."""


@dataclass(frozen=True)
class CountryRanges:
    """ISO 3166 alpha-2 code -> the networks registered to it."""

    by_country: dict[str, tuple[IPNetwork, ...]]

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str]]) -> CountryRanges:
        found: dict[str, list[IPNetwork]] = defaultdict(list)
        for number, (network, country) in enumerate(rows, start=2):
            code = country.strip().upper()
            if not code:
                continue
            try:
                found[code].append(ipaddress.ip_network(network.strip()))
            except ValueError as error:
                raise ConfigError(f"country table line {number}: {error}") from None
        return cls({code: _merged(networks) for code, networks in found.items()})

    @classmethod
    def from_csv(cls, path: Path) -> CountryRanges:
        with path.open(encoding="utf-8", newline="") as handle:
            return cls.from_rows((row["network"], row["country"]) for row in csv.DictReader(handle))

    @classmethod
    def sample(cls) -> CountryRanges:
        """The sample table that ships with Vigil (approximate; not a geolocation database)."""
        text = resources.files("vigil").joinpath(SAMPLE).read_text(encoding="utf-8")
        return cls.from_rows(
            (row["network"], row["country"]) for row in csv.DictReader(text.splitlines())
        )

    def ranges(self, country: str) -> tuple[IPNetwork, ...]:
        code = country.upper()
        if code not in self.by_country:
            known = ", ".join(sorted(self.by_country)) or "none"
            raise ConfigError(f"the country table has no ranges for {code}; it has: {known}")
        return self.by_country[code]


def _merged(networks: list[IPNetwork]) -> tuple[IPNetwork, ...]:
    v4 = [network for network in networks if isinstance(network, ipaddress.IPv4Network)]
    v6 = [network for network in networks if isinstance(network, ipaddress.IPv6Network)]
    return (*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6))
