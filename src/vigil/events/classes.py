"""The OCSF 1.8.0 core classes Vigil uses.

Attribute names and requirements follow the official schema; the test suite
validates events of every class here against it.
"""

from __future__ import annotations

from typing import ClassVar

from vigil.events.base import OcsfEvent
from vigil.events.objects import (
    Actor,
    Attack,
    Device,
    DnsAnswer,
    DnsQuery,
    Evidence,
    FindingInfo,
    Group,
    HttpRequest,
    HttpResponse,
    NetworkConnectionInfo,
    NetworkEndpoint,
    NetworkTraffic,
    Remediation,
    Service,
    Session,
    Url,
    User,
)
from vigil.events.types import Timestamp


class NetworkActivity(OcsfEvent):
    """Network connections and flows (Zeek conn, NetFlow, firewall logs)."""

    CLASS_UID: ClassVar[int] = 4001
    CLASS_NAME: ClassVar[str] = "network_activity"
    CLASS_CAPTION: ClassVar[str] = "Network Activity"
    CATEGORY_UID: ClassVar[int] = 4

    src_endpoint: NetworkEndpoint | None = None
    dst_endpoint: NetworkEndpoint | None = None
    connection_info: NetworkConnectionInfo | None = None
    traffic: NetworkTraffic | None = None
    app_name: str | None = None
    url: Url | None = None
    observation_point_id: int | None = None
    observation_point: str | None = None
    network_observation_point: NetworkEndpoint | None = None


class HttpActivity(OcsfEvent):
    """HTTP requests and responses (web access logs, proxies, e-commerce)."""

    CLASS_UID: ClassVar[int] = 4002
    CLASS_NAME: ClassVar[str] = "http_activity"
    CLASS_CAPTION: ClassVar[str] = "HTTP Activity"
    CATEGORY_UID: ClassVar[int] = 4

    src_endpoint: NetworkEndpoint | None = None
    dst_endpoint: NetworkEndpoint | None = None
    connection_info: NetworkConnectionInfo | None = None
    traffic: NetworkTraffic | None = None
    http_request: HttpRequest | None = None
    http_response: HttpResponse | None = None
    http_status: int | None = None


class DnsActivity(OcsfEvent):
    """DNS queries and answers."""

    CLASS_UID: ClassVar[int] = 4003
    CLASS_NAME: ClassVar[str] = "dns_activity"
    CLASS_CAPTION: ClassVar[str] = "DNS Activity"
    CATEGORY_UID: ClassVar[int] = 4

    src_endpoint: NetworkEndpoint | None = None
    dst_endpoint: NetworkEndpoint | None = None
    connection_info: NetworkConnectionInfo | None = None
    query: DnsQuery | None = None
    answers: list[DnsAnswer] | None = None
    rcode_id: int | None = None
    rcode: str | None = None
    query_time: Timestamp | None = None
    response_time: Timestamp | None = None


class Authentication(OcsfEvent):
    """Logons: employee SSO, vendor VPN and remote access, POS sign-on, Wi-Fi RADIUS."""

    CLASS_UID: ClassVar[int] = 3002
    CLASS_NAME: ClassVar[str] = "authentication"
    CLASS_CAPTION: ClassVar[str] = "Authentication"
    CATEGORY_UID: ClassVar[int] = 3

    user: User
    actor: Actor | None = None
    src_endpoint: NetworkEndpoint | None = None
    dst_endpoint: NetworkEndpoint | None = None
    service: Service | None = None
    session: Session | None = None
    auth_protocol_id: int | None = None
    auth_protocol: str | None = None
    logon_type_id: int | None = None
    logon_type: str | None = None
    is_mfa: bool | None = None
    is_remote: bool | None = None
    is_new_logon: bool | None = None


class AccountChange(OcsfEvent):
    """Account lifecycle: created, enabled, disabled, password changed or reset."""

    CLASS_UID: ClassVar[int] = 3001
    CLASS_NAME: ClassVar[str] = "account_change"
    CLASS_CAPTION: ClassVar[str] = "Account Change"
    CATEGORY_UID: ClassVar[int] = 3

    user: User
    actor: Actor | None = None
    src_endpoint: NetworkEndpoint | None = None
    user_result: User | None = None


class DeviceInventoryInfo(OcsfEvent):
    """A device as seen by inventory: IoT heartbeat, firmware, model, owner."""

    CLASS_UID: ClassVar[int] = 5001
    CLASS_NAME: ClassVar[str] = "inventory_info"
    CLASS_CAPTION: ClassVar[str] = "Device Inventory Info"
    CATEGORY_UID: ClassVar[int] = 5

    device: Device
    actor: Actor | None = None


class DetectionFinding(OcsfEvent):
    """An alert: what a rule or detector found, with its evidence and entities."""

    CLASS_UID: ClassVar[int] = 2004
    CLASS_NAME: ClassVar[str] = "detection_finding"
    CLASS_CAPTION: ClassVar[str] = "Detection Finding"
    CATEGORY_UID: ClassVar[int] = 2

    finding_info: FindingInfo
    confidence_id: int | None = None
    confidence_score: int | None = None
    risk_score: int | None = None
    risk_level_id: int | None = None
    impact_id: int | None = None
    is_alert: bool | None = None
    evidences: list[Evidence] | None = None
    device: Device | None = None
    remediation: Remediation | None = None
    comment: str | None = None


class IncidentFinding(OcsfEvent):
    """An incident: findings folded together, with status, priority and verdict."""

    CLASS_UID: ClassVar[int] = 2005
    CLASS_NAME: ClassVar[str] = "incident_finding"
    CLASS_CAPTION: ClassVar[str] = "Incident Finding"
    CATEGORY_UID: ClassVar[int] = 2

    finding_info_list: list[FindingInfo]
    status_id: int = 1
    desc: str | None = None
    priority_id: int | None = None
    priority: str | None = None
    confidence_id: int | None = None
    impact_id: int | None = None
    verdict_id: int | None = None
    verdict: str | None = None
    is_suspected_breach: bool | None = None
    assignee: User | None = None
    assignee_group: Group | None = None
    attacks: list[Attack] | None = None
    src_url: str | None = None
    comment: str | None = None
