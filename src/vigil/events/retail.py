"""Vigil's OCSF extension (name `vigil`, uid 86): what OCSF lacks for retail.

Class uids follow OCSF's rule for extensions: extension uid x 100000 +
category uid x 1000 + class number. Card data is never more than the BIN and the
last four digits (PCI DSS 3.3/3.4): `CardRef` has no field that could hold a PAN.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from vigil.events.base import VIGIL_EXTENSION, OcsfEvent
from vigil.events.objects import Device, ExtensionRef, User
from vigil.events.types import OcsfModel

_MONEY = Field(default=None, description="Amount in the transaction's currency.")


class CardRef(OcsfModel):
    """A payment card, by what PCI DSS allows to keep: BIN and last four digits."""

    bin: str | None = Field(
        default=None, pattern=r"^\d{6,8}$", description="Issuer identification number."
    )
    last4: str | None = Field(
        default=None, pattern=r"^\d{4}$", description="Last four digits of the PAN."
    )
    brand: str | None = Field(default=None, description="Card scheme, e.g. visa.")
    entry_mode: str | None = Field(
        default=None, description="chip, contactless, swipe, manual (keyed) or ecommerce."
    )
    fingerprint: str | None = Field(
        default=None, description="Keyed hash of the PAN, to link uses of one card."
    )


class LineItem(OcsfModel):
    """One line of a transaction: an item sold, returned or voided."""

    sequence: int = Field(description="Position of the line in the transaction.")
    sku: str | None = Field(default=None, description="Retailer's stock-keeping unit.")
    gtin: str | None = Field(default=None, description="Global trade item number (barcode).")
    description: str | None = Field(default=None, description="Item description.")
    department: str | None = Field(default=None, description="Merchandise department.")
    quantity: float = Field(default=1.0, description="Units (or kg for weighed items).")
    unit_price: float | None = _MONEY
    extended_price: float | None = _MONEY
    discount_amount: float | None = _MONEY
    entry_method: str | None = Field(
        default=None, description="scanned, keyed, weighed or looked_up."
    )
    is_voided: bool = Field(default=False, description="Line voided before tender.")
    void_reason: str | None = Field(default=None, description="Reason given for the void.")
    is_return: bool = Field(default=False, description="Line is a return of goods.")
    is_price_override: bool = Field(default=False, description="Price overridden at the till.")
    original_price: float | None = Field(
        default=None, description="Price before an override or markdown."
    )


class Tender(OcsfModel):
    """A payment towards the transaction."""

    type: str = Field(description="cash, card, gift_card, voucher, mobile or store_credit.")
    amount: float = Field(description="Amount tendered (negative when paid out).")
    card: CardRef | None = Field(default=None, description="Card used, for card tenders.")
    auth_code: str | None = Field(default=None, description="Authorisation code.")
    is_approved: bool | None = Field(default=None, description="Authorisation result.")
    change_amount: float | None = Field(default=None, description="Change given.")


class Discount(OcsfModel):
    """A discount or markdown applied to the transaction or a line."""

    type: str = Field(description="percent, amount, coupon, employee, loyalty or manager.")
    amount: float = Field(description="Value of the discount.")
    reason: str | None = Field(default=None, description="Reason given at the till.")
    line_sequence: int | None = Field(default=None, description="Line it applies to, if any.")
    approver_uid: str | None = Field(default=None, description="Who authorised it.")


class TransactionInfo(OcsfModel):
    """The transaction's header: identity, totals and links to earlier receipts."""

    uid: str = Field(description="Transaction identifier, unique in the store.")
    receipt_uid: str | None = Field(default=None, description="Number printed on the receipt.")
    business_day: str | None = Field(default=None, description="Trading date, YYYY-MM-DD.")
    lane: str | None = Field(default=None, description="Checkout lane.")
    sequence_number: int | None = Field(default=None, description="Terminal sequence number.")
    currency: str = Field(default="USD", description="ISO 4217 currency code.")
    subtotal: float | None = _MONEY
    discount_total: float | None = _MONEY
    tax_total: float | None = _MONEY
    total: float | None = _MONEY
    item_count: int | None = Field(default=None, description="Items sold (net of voids).")
    void_count: int | None = Field(default=None, description="Lines voided.")
    original_receipt_uid: str | None = Field(
        default=None, description="Receipt a refund refers to; empty for a refund without one."
    )
    is_self_checkout: bool = Field(default=False, description="Rung up at a self-checkout.")
    is_training: bool = Field(default=False, description="Training mode, no money moved.")
    loyalty_uid: str | None = Field(default=None, description="Customer loyalty account.")


class CashDrawer(OcsfModel):
    """The till's cash drawer."""

    uid: str = Field(description="Drawer identifier.")
    expected_amount: float | None = Field(default=None, description="Cash the till expects.")
    counted_amount: float | None = Field(default=None, description="Cash counted.")


class SelfCheckoutSession(OcsfModel):
    """What a self-checkout lane counted during one customer's session (Vigil extension).

    These counters are the signals of self-checkout fraud (items not scanned,
    weight mismatches, voids); they stay as columns so that rules and detectors
    can use them without reading the lines.
    """

    scans: int | None = Field(default=None, ge=0, description="Items scanned.")
    scan_seconds: float | None = Field(
        default=None, ge=0, description="Seconds from the first scan to payment."
    )
    voids: int | None = Field(default=None, ge=0, description="Scans voided by the customer.")
    scans_without_registration: int | None = Field(
        default=None,
        ge=0,
        description="Items placed in the bagging area without a registered scan.",
    )
    quantity_modifications: int | None = Field(
        default=None, ge=0, description="Quantities changed after scanning."
    )
    weight_mismatches: int | None = Field(
        default=None, ge=0, description="Bagging-area weights that did not match the item."
    )
    attendant_interventions: int | None = Field(
        default=None, ge=0, description="Times an attendant had to step in."
    )
    trust_level: int | None = Field(
        default=None,
        ge=1,
        le=6,
        description="Customer's standing, 1 (new or flagged) to 6 (long and clean).",
    )


class PosTransaction(OcsfEvent):
    """Point-of-sale activity: sales, refunds, voids, no-sales and cash drawer events."""

    CLASS_UID: ClassVar[int] = 8606001
    CLASS_NAME: ClassVar[str] = "vigil/pos_transaction"
    CLASS_CAPTION: ClassVar[str] = "POS Transaction"
    CATEGORY_UID: ClassVar[int] = 6
    EXTENSION: ClassVar[ExtensionRef | None] = VIGIL_EXTENSION
    ACTIVITIES: ClassVar[dict[int, str]] = {
        0: "Unknown",
        1: "Sale",
        2: "Refund",
        3: "Void",
        4: "Post Void",
        5: "No Sale",
        6: "Drawer Open",
        7: "Drawer Close",
        8: "Suspend",
        9: "Resume",
        99: "Other",
    }

    transaction: TransactionInfo | None = Field(default=None, description="Header and totals.")
    line_items: list[LineItem] | None = Field(default=None, description="Lines, in order.")
    tenders: list[Tender] | None = Field(default=None, description="Payments.")
    discounts: list[Discount] | None = Field(default=None, description="Discounts applied.")
    cashier: User | None = Field(default=None, description="Cashier signed on at the till.")
    supervisor: User | None = Field(default=None, description="Who approved an override.")
    device: Device | None = Field(default=None, description="POS terminal or self-checkout.")
    cash_drawer: CashDrawer | None = Field(default=None, description="Drawer involved.")
    self_checkout: SelfCheckoutSession | None = Field(
        default=None, description="Session counters, for self-checkout transactions."
    )


class Door(OcsfModel):
    """A controlled door or an alarm partition."""

    uid: str = Field(description="Door identifier.")
    name: str | None = Field(default=None, description="Door name, e.g. Stockroom rear.")
    zone: str | None = Field(default=None, description="Layout zone of the store it opens to.")
    is_exterior: bool | None = Field(default=None, description="Opens to the outside.")


class DoorAccess(OcsfEvent):
    """Physical access: badge reads, doors forced or held, alarm arm and disarm."""

    CLASS_UID: ClassVar[int] = 8603001
    CLASS_NAME: ClassVar[str] = "vigil/door_access"
    CLASS_CAPTION: ClassVar[str] = "Door Access"
    CATEGORY_UID: ClassVar[int] = 3
    EXTENSION: ClassVar[ExtensionRef | None] = VIGIL_EXTENSION
    ACTIVITIES: ClassVar[dict[int, str]] = {
        0: "Unknown",
        1: "Access Granted",
        2: "Access Denied",
        3: "Door Forced Open",
        4: "Door Held Open",
        5: "Door Opened",
        6: "Door Closed",
        7: "Alarm Armed",
        8: "Alarm Disarmed",
        9: "Alarm Triggered",
        99: "Other",
    }

    door: Door | None = Field(default=None, description="Door or alarm partition.")
    user: User | None = Field(default=None, description="Badge holder, when known.")
    badge_uid: str | None = Field(default=None, description="Credential presented.")
    device: Device | None = Field(default=None, description="Door controller or alarm panel.")


class BoundingBox(OcsfModel):
    """A box in the frame, in pixels of the analysed frame."""

    x: float = Field(description="Left edge.")
    y: float = Field(description="Top edge.")
    width: float = Field(description="Width.")
    height: float = Field(description="Height.")


class Appearance(OcsfModel):
    """What a person looked like, for search by description."""

    upper_color: str | None = Field(default=None, description="Dominant upper-body colour.")
    lower_color: str | None = Field(default=None, description="Dominant lower-body colour.")
    embedding_uid: str | None = Field(default=None, description="Key of the image embedding.")


class VideoZone(OcsfModel):
    """A zone or line drawn on a camera's view."""

    uid: str = Field(description="Zone identifier, unique per camera.")
    name: str | None = Field(default=None, description="Zone name, e.g. Checkout queue.")
    type: str | None = Field(
        default=None, description="area, line, restricted, shelf, queue or entrance."
    )


class VideoObservation(OcsfEvent):
    """A behaviour seen by store video analytics. Video stays at the store; this leaves."""

    CLASS_UID: ClassVar[int] = 8606002
    CLASS_NAME: ClassVar[str] = "vigil/video_observation"
    CLASS_CAPTION: ClassVar[str] = "Video Observation"
    CATEGORY_UID: ClassVar[int] = 6
    EXTENSION: ClassVar[ExtensionRef | None] = VIGIL_EXTENSION
    ACTIVITIES: ClassVar[dict[int, str]] = {
        0: "Unknown",
        1: "Loitering",
        2: "Restricted Area Entry",
        3: "After-Hours Presence",
        4: "Line Crossing",
        5: "Queue Length",
        6: "Dwell",
        7: "Shelf Interaction",
        8: "Shelf Sweep",
        9: "Crowding",
        10: "Zone Entry",
        11: "Zone Exit",
        99: "Other",
    }

    camera: Device | None = Field(default=None, description="Camera that saw it.")
    zone: VideoZone | None = Field(default=None, description="Zone or line involved.")
    track_uid: str | None = Field(default=None, description="Tracker's id for the object.")
    object_class: str | None = Field(default=None, description="Detected class, e.g. person.")
    confidence: float | None = Field(default=None, description="Detector confidence, 0-1.")
    bbox: BoundingBox | None = Field(default=None, description="Where in the frame.")
    dwell_seconds: float | None = Field(default=None, description="Time spent in the zone.")
    direction: str | None = Field(default=None, description="in or out, for line crossings.")
    appearance: Appearance | None = Field(default=None, description="Colours, embedding key.")
    snapshot_uri: str | None = Field(default=None, description="Snapshot kept at the store.")
    clip_uri: str | None = Field(default=None, description="Clip kept at the store.")


__all__ = [
    "Appearance",
    "BoundingBox",
    "CardRef",
    "CashDrawer",
    "Discount",
    "Door",
    "DoorAccess",
    "LineItem",
    "PosTransaction",
    "SelfCheckoutSession",
    "Tender",
    "TransactionInfo",
    "VideoObservation",
    "VideoZone",
]
