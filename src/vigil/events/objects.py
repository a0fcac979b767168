"""OCSF 1.8.0 objects used by Vigil's event classes.

Each model carries the subset of the official object's attributes that retail
telemetry fills; names, types and requirements follow the official schema (a
test checks every attribute here against it). Descriptions are not repeated:
`vigil events docs` takes them from the official dictionary.
"""

from __future__ import annotations

from pydantic import Field

from vigil.events.types import JsonObject, OcsfModel, Timestamp


class Product(OcsfModel):
    name: str
    vendor_name: str | None = None
    version: str | None = None
    uid: str | None = None


class ExtensionRef(OcsfModel):
    name: str
    uid: str
    version: str


class Metadata(OcsfModel):
    version: str = "1.8.0"
    product: Product
    uid: str | None = None
    correlation_uid: str | None = None
    original_time: str | None = None
    logged_time: Timestamp | None = None
    processed_time: Timestamp | None = None
    log_name: str | None = None
    log_provider: str | None = None
    log_format: str | None = None
    tenant_uid: str | None = None
    labels: list[str] | None = None
    profiles: list[str] | None = None
    extensions: list[ExtensionRef] | None = None


class Location(OcsfModel):
    city: str | None = None
    country: str | None = None
    region: str | None = None
    postal_code: str | None = None
    lat: float | None = None
    long: float | None = None
    is_on_premises: bool | None = None


class OperatingSystem(OcsfModel):
    name: str
    type_id: int = 0
    type: str | None = None
    version: str | None = None
    build: str | None = None


class Account(OcsfModel):
    uid: str | None = None
    name: str | None = None
    type_id: int | None = None
    type: str | None = None


class Group(OcsfModel):
    uid: str | None = None
    name: str | None = None


class User(OcsfModel):
    uid: str | None = None
    name: str | None = None
    full_name: str | None = None
    email_addr: str | None = None
    domain: str | None = None
    type_id: int | None = None
    type: str | None = None
    account: Account | None = None
    groups: list[Group] | None = None


class Session(OcsfModel):
    uid: str | None = None
    created_time: Timestamp | None = None
    is_mfa: bool | None = None
    is_remote: bool | None = None
    is_vpn: bool | None = None


class Actor(OcsfModel):
    user: User | None = None
    app_name: str | None = None
    session: Session | None = None


class Service(OcsfModel):
    uid: str | None = None
    name: str | None = None


class NetworkEndpoint(OcsfModel):
    uid: str | None = None
    name: str | None = None
    hostname: str | None = None
    domain: str | None = None
    ip: str | None = None
    port: int | None = None
    mac: str | None = None
    zone: str | None = None
    vlan_uid: str | None = None
    subnet_uid: str | None = None
    interface_name: str | None = None
    svc_name: str | None = None
    type_id: int | None = None
    type: str | None = None
    location: Location | None = None


class NetworkConnectionInfo(OcsfModel):
    direction_id: int = 0
    direction: str | None = None
    protocol_name: str | None = None
    protocol_num: int | None = None
    boundary_id: int | None = None
    boundary: str | None = None
    tcp_flags: int | None = None
    uid: str | None = None


class NetworkTraffic(OcsfModel):
    bytes: int | None = None
    bytes_in: int | None = None
    bytes_out: int | None = None
    packets: int | None = None
    packets_in: int | None = None
    packets_out: int | None = None


class Url(OcsfModel):
    url_string: str | None = None
    scheme: str | None = None
    hostname: str | None = None
    domain: str | None = None
    port: int | None = None
    path: str | None = None
    query_string: str | None = None


class HttpRequest(OcsfModel):
    http_method: str | None = None
    url: Url | None = None
    user_agent: str | None = None
    referrer: str | None = None
    version: str | None = None
    length: int | None = None
    body_length: int | None = None
    uid: str | None = None
    x_forwarded_for: list[str] | None = None


class HttpResponse(OcsfModel):
    code: int
    status: str | None = None
    length: int | None = None
    body_length: int | None = None
    content_type: str | None = None
    latency: int | None = None


class DnsQuery(OcsfModel):
    hostname: str
    type: str | None = None
    class_: str | None = Field(default=None, alias="class")
    opcode_id: int | None = None
    packet_uid: int | None = None


class DnsAnswer(OcsfModel):
    rdata: str
    type: str | None = None
    class_: str | None = Field(default=None, alias="class")
    ttl: int | None = None


class Device(OcsfModel):
    type_id: int = 0
    type: str | None = None
    uid: str | None = None
    name: str | None = None
    hostname: str | None = None
    ip: str | None = None
    mac: str | None = None
    model: str | None = None
    desc: str | None = None
    os: OperatingSystem | None = None
    location: Location | None = None
    is_managed: bool | None = None
    is_trusted: bool | None = None
    first_seen_time: Timestamp | None = None
    last_seen_time: Timestamp | None = None
    groups: list[Group] | None = None


class Observable(OcsfModel):
    type_id: int = 0
    type: str | None = None
    name: str | None = None
    value: str | None = None


class Enrichment(OcsfModel):
    name: str
    value: str
    data: JsonObject
    type: str | None = None
    provider: str | None = None


class Technique(OcsfModel):
    uid: str | None = None
    name: str | None = None


class Tactic(OcsfModel):
    uid: str | None = None
    name: str | None = None


class Attack(OcsfModel):
    technique: Technique | None = None
    sub_technique: Technique | None = None
    tactic: Tactic | None = None
    version: str | None = None


class Analytic(OcsfModel):
    type_id: int = 0
    type: str | None = None
    uid: str | None = None
    name: str | None = None
    category: str | None = None
    desc: str | None = None
    version: str | None = None


class RelatedEvent(OcsfModel):
    uid: str
    type_uid: int | None = None
    type_name: str | None = None
    product_uid: str | None = None


class FindingInfo(OcsfModel):
    uid: str
    title: str | None = None
    desc: str | None = None
    types: list[str] | None = None
    created_time: Timestamp | None = None
    first_seen_time: Timestamp | None = None
    last_seen_time: Timestamp | None = None
    analytic: Analytic | None = None
    attacks: list[Attack] | None = None
    data_sources: list[str] | None = None
    related_events: list[RelatedEvent] | None = None
    related_events_count: int | None = None
    src_url: str | None = None


class Evidence(OcsfModel):
    """OCSF `evidences`: one piece of evidence behind a finding."""

    uid: str | None = None
    name: str | None = None
    data: JsonObject | None = None
    src_endpoint: NetworkEndpoint | None = None
    dst_endpoint: NetworkEndpoint | None = None
    user: User | None = None
    device: Device | None = None


class Remediation(OcsfModel):
    desc: str
    references: list[str] | None = None
