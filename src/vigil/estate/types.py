"""The retail estate: organisation, regions, stores, networks, assets, identities.

Risk scores and playbook policies read this context: the same alert at 03:00 in
a closed store and at noon on Black Friday is handled differently.
"""

from __future__ import annotations

import ipaddress
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from vigil.estate.errors import UnknownStoreError

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as Europe/London)"
        ) from error
    return name


def _check_hours(text: str) -> str:
    if text == "closed":
        return text
    for span in text.split(","):
        start, sep, end = span.strip().partition("-")
        if not sep:
            raise ValueError(f"opening hours {text!r}: expected HH:MM-HH:MM or 'closed'")
        for part in (start, end):
            try:
                time.fromisoformat(part.strip())
            except ValueError as error:
                raise ValueError(
                    f"opening hours {text!r}: {part.strip()!r} is not HH:MM"
                ) from error
    return text


TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]
Hours = Annotated[str, AfterValidator(_check_hours)]


class SegmentKind(StrEnum):
    CARDHOLDER_DATA = "cardholder_data"
    POS = "pos"
    IOT = "iot"
    GUEST_WIFI = "guest_wifi"
    STAFF_WIFI = "staff_wifi"
    CORPORATE = "corporate"
    VENDOR = "vendor"
    MANAGEMENT = "management"


class AssetKind(StrEnum):
    POS_TERMINAL = "pos_terminal"
    SELF_CHECKOUT = "self_checkout"
    PAYMENT_TERMINAL = "payment_terminal"
    CAMERA = "camera"
    NVR = "nvr"
    SENSOR = "sensor"
    SMART_SHELF = "smart_shelf"
    HVAC = "hvac"
    DOOR_CONTROLLER = "door_controller"
    ALARM_PANEL = "alarm_panel"
    ACCESS_POINT = "access_point"
    SWITCH = "switch"
    FIREWALL = "firewall"
    ROUTER = "router"
    SERVER = "server"
    WORKSTATION = "workstation"
    IOT_GATEWAY = "iot_gateway"
    PRINTER = "printer"


class Criticality(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class IdentityKind(StrEnum):
    EMPLOYEE = "employee"
    CASHIER = "cashier"
    MANAGER = "manager"
    SECURITY = "security"
    VENDOR = "vendor"
    SERVICE = "service"


class Organisation(Model):
    uid: str = Field(description="Short identifier of the retailer.")
    name: str = Field(description="Display name.")
    currency: str = Field(default="USD", description="ISO 4217 currency of the tills.")


class Peak(Model):
    """A trading peak (raises the policy level) or a closure."""

    name: str = Field(description="e.g. Black Friday.")
    start: date = Field(description="First day, inclusive.")
    end: date | None = Field(default=None, description="Last day, inclusive; one day if empty.")
    level: int = Field(default=2, ge=0, le=3, description="0 normal to 3 highest peak.")
    closed: bool = Field(default=False, description="Stores are closed on these days.")

    @property
    def last_day(self) -> date:
        return self.end or self.start


class Zone(Model):
    uid: str = Field(description="Zone identifier, unique in the store.")
    name: str = Field(description="Display name, e.g. Electronics aisle.")
    kind: Literal[
        "entrance",
        "sales_floor",
        "checkout",
        "self_checkout",
        "stockroom",
        "office",
        "cash_office",
        "loading_dock",
        "server_room",
        "restricted",
        "parking",
    ] = Field(description="What the zone is used for.")
    restricted: bool = Field(
        default=False, description="Staff only; entry outside roles is an event."
    )


class Segment(Model):
    name: str = Field(description="Segment name, unique in the store, e.g. cde.")
    kind: SegmentKind = Field(description="What the segment carries.")
    cidr: str = Field(description="Address range, e.g. 10.31.10.0/24.")
    vlan: int | None = Field(default=None, ge=1, le=4094, description="802.1Q VLAN id.")

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.cidr, strict=False)


class Asset(Model):
    uid: str = Field(description="Asset identifier, unique across the estate, e.g. s031-pos-01.")
    name: str = Field(description="Display name, e.g. POS lane 1.")
    kind: AssetKind = Field(description="Device type.")
    segment: str = Field(description="Name of the store segment it sits in.")
    ip: str | None = Field(default=None, description="Static address, if any.")
    mac: str | None = Field(
        default=None, pattern=r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$", description="MAC, lower case."
    )
    criticality: Criticality = Field(
        default=Criticality.MEDIUM, description="Business impact if compromised."
    )
    vendor: str | None = Field(default=None, description="Manufacturer.")
    model: str | None = Field(default=None, description="Model name.")
    firmware: str | None = Field(default=None, description="Approved firmware version.")
    lane: str | None = Field(default=None, description="Checkout lane, for tills.")
    zone: str | None = Field(default=None, description="Layout zone it covers or stands in.")


class VendorAccess(Model):
    company: str = Field(description="Vendor company.")
    allowed_segments: list[str] = Field(default_factory=list, description="Segments it may reach.")
    allowed_hours: Hours = Field(default="00:00-23:59", description="Window, in store local time.")
    expires: date | None = Field(default=None, description="Access ends after this day.")
    requires_mfa: bool = Field(default=True, description="Logins without MFA are violations.")


class Identity(Model):
    uid: str = Field(description="Identifier in the identity provider.")
    name: str = Field(description="Full name.")
    username: str = Field(description="Login name, as it appears in logs.")
    kind: IdentityKind = Field(description="Employee, cashier, vendor and so on.")
    stores: list[str] = Field(default_factory=list, description="Stores they work at; empty = all.")
    cashier_id: str | None = Field(default=None, description="Operator id keyed at the till.")
    vendor: VendorAccess | None = Field(default=None, description="Vendor's allowed access.")


class Store(Model):
    uid: str = Field(description="Store number, unique in the estate, e.g. 031.")
    name: str = Field(description="Display name.")
    timezone: TimeZoneName = Field(description="IANA time zone, e.g. America/Chicago.")
    city: str | None = Field(default=None, description="City.")
    country: str = Field(default="US", description="ISO 3166 country code.")
    opening_hours: dict[Weekday, Hours] = Field(
        description="Per weekday: 'HH:MM-HH:MM' or 'closed'."
    )
    peaks: list[Peak] = Field(
        default_factory=list, description="Store-specific peaks and closures."
    )
    zones: list[Zone] = Field(default_factory=list, description="Layout zones.")
    segments: list[Segment] = Field(default_factory=list, description="Network segments.")
    assets: list[Asset] = Field(default_factory=list, description="Devices in the store.")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, moment: datetime) -> datetime:
        """The moment in the store's local time."""
        return moment.astimezone(self.tz)

    def hours_on(self, day: date) -> list[tuple[time, time]]:
        text = self.opening_hours.get(WEEKDAYS[day.weekday()], "closed")
        if text == "closed":
            return []
        spans = []
        for span in text.split(","):
            start, _, end = span.strip().partition("-")
            spans.append((time.fromisoformat(start.strip()), time.fromisoformat(end.strip())))
        return spans

    def segment(self, name: str) -> Segment | None:
        return next((seg for seg in self.segments if seg.name == name), None)


class Region(Model):
    uid: str = Field(description="Region identifier.")
    name: str = Field(description="Display name.")
    stores: list[Store] = Field(default_factory=list, description="Stores in the region.")


class Estate(Model):
    """The whole estate, as loaded from one YAML file."""

    version: Literal[1] = Field(default=1, description="Format version of this file.")
    organisation: Organisation = Field(description="The retailer.")
    peaks: list[Peak] = Field(default_factory=list, description="Peaks for every store.")
    regions: list[Region] = Field(description="Regions and their stores.")
    identities: list[Identity] = Field(default_factory=list, description="People and accounts.")

    @property
    def stores(self) -> list[Store]:
        return [store for region in self.regions for store in region.stores]

    def store(self, uid: str) -> Store:
        for store in self.stores:
            if store.uid == uid:
                return store
        raise UnknownStoreError(f"no store {uid!r} in the estate")

    def region_of(self, store_uid: str) -> Region:
        for region in self.regions:
            if any(store.uid == store_uid for store in region.stores):
                return region
        raise UnknownStoreError(f"no store {store_uid!r} in the estate")

    @property
    def assets(self) -> list[tuple[Store, Asset]]:
        return [(store, asset) for store in self.stores for asset in store.assets]

    def peak_on(self, store: Store, day: date) -> Peak | None:
        """The highest peak (or a closure) covering a local calendar day, if any."""
        found = [peak for peak in (*self.peaks, *store.peaks) if peak.start <= day <= peak.last_day]
        if not found:
            return None
        return max(found, key=lambda peak: (peak.closed, peak.level))

    def is_open(self, store: Store, moment: datetime) -> bool:
        """Whether a store is trading at a moment (closures on the calendar count).

        Compared as absolute instants, so the night the clocks go back is right.
        """
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("is_open needs an aware datetime (naive ones have no single meaning)")
        instant = moment.timestamp()
        local = store.local(moment)
        for day in (local.date(), local.date() - timedelta(days=1)):
            peak = self.peak_on(store, day)
            if peak is not None and peak.closed:
                continue
            for start, end in store.hours_on(day):
                opened = datetime.combine(day, start, store.tz).timestamp()
                closes_next_day = end <= start
                closed = datetime.combine(
                    day + timedelta(days=closes_next_day), end, store.tz
                ).timestamp()
                if opened <= instant < closed:
                    return True
        return False
