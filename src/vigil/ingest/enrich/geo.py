"""Country of public IPv4 addresses, from a local CIDR -> ISO 3166 table.

IPv4 strings become integers with one regular expression; ranges are flattened
at start-up into sorted, non-overlapping intervals (`RangeTable`) and looked up
with `numpy.searchsorted`. Private, loopback, link-local, shared, benchmarking,
documentation and multicast ranges never get a country. The estate lookups use
the same range table for network segments.

The country table
-----------------
`geo_country.csv` (in `vigil.ingest`) is a *small, hand-written sample*: the
public ranges the simulator uses for shoppers, cloud services, vendors and the
attacker, plus a handful of well-known networks. It is approximate and is not a
geolocation database. An operator replaces it with a CSV of the same shape
(`network,country`, one IPv4 CIDR and ISO code a line) and passes it in:

    Enricher(estate, GeoTable.from_csv(Path("/etc/vigil/country.csv")))

For example, from a GeoLite2 or DB-IP country CSV the operator is licensed to
use (GeoLite2: join the Blocks-IPv4 file's `geoname_id` to the Locations file's
`country_iso_code`):

    duckdb -c "COPY (SELECT b.network, l.country_iso_code AS country
      FROM 'GeoLite2-Country-Blocks-IPv4.csv' b
      JOIN 'GeoLite2-Country-Locations-en.csv' l USING (geoname_id)
      WHERE l.country_iso_code IS NOT NULL) TO 'country.csv' (HEADER)"

Rows with IPv6 networks or empty countries are skipped.
"""

from __future__ import annotations

import csv
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

GEO_TABLE = "geo_country.csv"
NONE = -1

OCTET = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = rf"^{OCTET}\.{OCTET}\.{OCTET}\.{OCTET}$"

NOT_GLOBAL = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
)
"""IPv4 ranges that have no country: private, loopback, documentation and the like."""


# --- integer ranges ----------------------------------------------------------------


def ipv4_numbers(addresses: pl.Expr) -> pl.Expr:
    """IPv4 dotted quads as Int64; null for anything else (IPv6, names, junk)."""
    parts = addresses.str.extract_groups(IPV4)
    number = pl.lit(0, dtype=pl.Int64)
    for index, shift in enumerate((24, 16, 8, 0), start=1):
        number = number + (parts.struct.field(str(index)).cast(pl.Int64) * (1 << shift))
    return number


def network_bounds(cidr: str) -> tuple[int, int] | None:
    """First and last address of an IPv4 network as integers; None for IPv6."""
    network = ipaddress.ip_network(cidr.strip(), strict=False)
    if not isinstance(network, ipaddress.IPv4Network):
        return None
    return int(network.network_address), int(network.broadcast_address)


@dataclass(frozen=True)
class RangeTable:
    """Integer ranges flattened into sorted, disjoint intervals, each with one owner.

    Ranges may nest (a /24 inside a /16): inside the inner range the inner one
    owns the address. Of identical ranges the last one given wins.

    >>> table = RangeTable.build([(10, 20), (12, 13)])
    >>> table.lookup(np.array([9, 10, 12, 13, 14, 20, 21])).tolist()
    [-1, 0, 1, 1, 0, 0, -1]
    """

    starts: npt.NDArray[np.int64]
    owners: npt.NDArray[np.int64]

    @classmethod
    def build(cls, ranges: Sequence[tuple[int, int]]) -> RangeTable:
        order = sorted(range(len(ranges)), key=lambda i: (ranges[i][0], -ranges[i][1], i))
        points: dict[int, int] = {}
        open_ranges: list[tuple[int, int]] = []  # (last, owner), innermost at the end

        def close_before(limit: int) -> None:
            while open_ranges and open_ranges[-1][0] < limit:
                last, _ = open_ranges.pop()
                points[last + 1] = open_ranges[-1][1] if open_ranges else NONE

        for owner in order:
            first, last = ranges[owner]
            close_before(first)
            points[first] = owner
            open_ranges.append((last, owner))
        close_before(1 << 62)
        starts = np.array(sorted(points), dtype=np.int64)
        owners = np.array([points[start] for start in starts.tolist()], dtype=np.int64)
        return cls(starts, owners)

    def lookup(self, numbers: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The owner of each number, or -1 (negative numbers mean "no address")."""
        if not len(self.starts):
            return np.full(len(numbers), NONE, dtype=np.int64)
        slot = np.searchsorted(self.starts, numbers, side="right") - 1
        found = self.owners[np.clip(slot, 0, None)]
        return np.where((slot >= 0) & (numbers >= 0), found, NONE).astype(np.int64)


# --- the country table ---------------------------------------------------------------


@dataclass(frozen=True)
class GeoTable:
    """IPv4 CIDR -> ISO 3166 country code, for public addresses only."""

    ranges: RangeTable
    countries: tuple[str, ...]

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str]]) -> GeoTable:
        bounds: list[tuple[int, int]] = []
        countries: list[str] = []
        for network, country in rows:
            found = network_bounds(network) if country.strip() else None
            if found is not None:
                bounds.append(found)
                countries.append(country.strip().upper())
        return cls(RangeTable.build(bounds), tuple(countries))

    @classmethod
    def from_csv(cls, path: Path) -> GeoTable:
        """A `network,country` CSV with a header line."""
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            return cls.from_rows((row["network"], row["country"]) for row in reader)

    @classmethod
    def sample(cls) -> GeoTable:
        """The small sample table that ships with Vigil (see the module docstring)."""
        text = resources.files("vigil.ingest").joinpath(GEO_TABLE).read_text(encoding="utf-8")
        reader = csv.DictReader(text.splitlines())
        return cls.from_rows((row["network"], row["country"]) for row in reader)


_NOT_GLOBAL = RangeTable.build(
    [bounds for cidr in NOT_GLOBAL if (bounds := network_bounds(cidr)) is not None]
)


def is_global(numbers: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """True for valid IPv4 numbers outside every non-global range."""
    found: npt.NDArray[np.bool_] = (numbers >= 0) & (_NOT_GLOBAL.lookup(numbers) == NONE)
    return found
