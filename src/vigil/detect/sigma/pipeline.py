"""Vigil's pySigma processing pipeline: Sigma's field taxonomy onto flattened OCSF columns.

One table, `LOGSOURCES`, says for each Sigma log source which event class its events are in
and which column each Sigma field is; the pipeline and `event_class_for` are both built from
it, so they cannot disagree. The targets follow what the parsers write (`ingest/parsers/`):
Sysmon and Windows Security in `endpoint.py`, web access logs in `web.py`, Zeek in `zeek.py`.
A field that is not mapped keeps its name, is then no column, and never matches; the loader
reports it as a warning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from sigma.correlations import SigmaCorrelationRule
from sigma.processing.conditions import (
    IncludeFieldCondition,
    LogsourceCondition,
    RuleProcessingCondition,
)
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import (
    FieldMappingTransformation,
    MapStringTransformation,
    ValueListPlaceholderTransformation,
)
from sigma.processing.transformations.base import DetectionItemTransformation
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaLogSource, SigmaRule
from sigma.types import SigmaNumber, SigmaString

PROCESS: Final[Mapping[str, str | list[str]]] = {
    "Image": "process.path",
    "CommandLine": "process.cmd_line",
    "ParentImage": "process.parent_process.path",
    "ParentCommandLine": "process.parent_process.cmd_line",
    "ParentProcessId": "process.parent_process.pid",
    "ParentProcessGuid": "process.parent_process.uid",
    "ProcessId": "process.pid",
    "ProcessGuid": "process.uid",
    "User": "process.user.name",
    "CurrentDirectory": "process.working_directory",
    "IntegrityLevel": "process.integrity",
    "OriginalFileName": "process.file.name",
    "Hashes": "unmapped",
    "Computer": "device.hostname",
    "ComputerName": "device.hostname",
    # Windows Security 4688
    "NewProcessName": "process.path",
    "ParentProcessName": "process.parent_process.path",
    "SubjectUserName": "actor.user.name",
}
NETWORK: Final[Mapping[str, str | list[str]]] = {
    "DestinationIp": "dst_endpoint.ip",
    "DestinationPort": "dst_endpoint.port",
    "DestinationHostname": "dst_endpoint.hostname",
    "SourceIp": "src_endpoint.ip",
    "SourcePort": "src_endpoint.port",
    "SourceHostname": "src_endpoint.hostname",
    "Initiated": "connection_info.direction",
    "Protocol": "connection_info.protocol_name",
    "dst_ip": "dst_endpoint.ip",
    "dst_port": "dst_endpoint.port",
    "src_ip": "src_endpoint.ip",
    "src_port": "src_endpoint.port",
    "protocol": "connection_info.protocol_name",
    "Computer": "device.hostname",
}
DNS: Final[Mapping[str, str | list[str]]] = {
    "QueryName": "query.hostname",
    "query": "query.hostname",
    "QueryType": "query.type",
    "record_type": "query.type",
    "answer": "answers.rdata",
    "QueryResults": "answers.rdata",
    "rcode": "rcode",
    "src_ip": "src_endpoint.ip",
    "dst_ip": "dst_endpoint.ip",
}
WEB: Final[Mapping[str, str | list[str]]] = {
    "cs-method": "http_request.http_method",
    "cs-uri-stem": "http_request.url.path",
    "cs-uri-query": "http_request.url.query_string",
    "cs-uri": "http_request.url.url_string",
    "c-uri": "http_request.url.url_string",
    "c-uri-query": "http_request.url.query_string",
    "c-uri-path": "http_request.url.path",
    "c-ip": "src_endpoint.ip",
    "s-ip": "dst_endpoint.ip",
    "sc-status": "http_response.code",
    "cs-user-agent": "http_request.user_agent",
    "c-useragent": "http_request.user_agent",
    "cs-host": ["http_request.url.hostname", "dst_endpoint.hostname"],
    "r-dns": ["http_request.url.hostname", "dst_endpoint.hostname"],
    "cs-referer": "http_request.referrer",
    "cs-referrer": "http_request.referrer",
    "cs-version": "http_request.version",
    "sc-bytes": "http_response.body_length",
    "cs-bytes": "http_request.body_length",
}
FILE: Final[Mapping[str, str | list[str]]] = {
    "TargetFilename": "file.path",
    "Image": "actor.process.path",
    "User": "actor.user.name",
    "Computer": "device.hostname",
}
AUTHENTICATION: Final[Mapping[str, str | list[str]]] = {
    "TargetUserName": "user.name",
    "TargetDomainName": "user.domain",
    "TargetUserSid": "user.uid",
    "SubjectUserName": "actor.user.name",
    "SubjectDomainName": "actor.user.domain",
    "IpAddress": "src_endpoint.ip",
    "IpPort": "src_endpoint.port",
    "WorkstationName": "src_endpoint.hostname",
    "LogonType": "logon_type_id",
    "AuthenticationPackageName": "auth_protocol",
    "Status": "status_code",
    "SubStatus": "status_code",
    "TargetLogonId": "session.uid",
    "Computer": "dst_endpoint.hostname",
}

EVENT_IDS: Final[Mapping[int, Mapping[str, int]]] = {
    4624: {"activity_id": 1, "status_id": 1},
    4625: {"activity_id": 1, "status_id": 2},
    4634: {"activity_id": 2},
    4688: {"activity_id": 1},
    4689: {"activity_id": 2},
}
"""Windows Security event ids as the OCSF values the Windows parser writes for them."""
AUTH_EVENT_IDS: Final = frozenset({4624, 4625, 4634})


@dataclass(frozen=True)
class LogsourceSpec:
    """One Sigma log source: its pySigma conditions, Vigil event class and field mapping."""

    name: str
    event_class: str
    logsources: tuple[SigmaLogSource, ...]
    mapping: Mapping[str, str | list[str]]
    event_ids: frozenset[int] = field(default_factory=frozenset)
    """For `windows/security`: the rule's EventID values that select this spec."""

    def matches(self, rule: SigmaRule) -> bool:
        if not any(rule.logsource in logsource for logsource in self.logsources):
            return False
        return not self.event_ids or bool(rule_event_ids(rule) & self.event_ids)


def _category(*names: str) -> tuple[SigmaLogSource, ...]:
    return tuple(SigmaLogSource(category=name) for name in names)


_WINDOWS_SECURITY: Final = (SigmaLogSource(product="windows", service="security"),)


LOGSOURCES: Final = (
    LogsourceSpec("process_creation", "process_activity", _category("process_creation"), PROCESS),
    LogsourceSpec(
        "network",
        "network_activity",
        _category("network_connection", "firewall"),
        NETWORK,
    ),
    LogsourceSpec("dns", "dns_activity", _category("dns", "dns_query"), DNS),
    LogsourceSpec("web", "http_activity", _category("webserver", "proxy"), WEB),
    LogsourceSpec("file", "file_activity", _category("file_event"), FILE),
    LogsourceSpec("authentication", "authentication", _category("authentication"), AUTHENTICATION),
    LogsourceSpec(
        "windows_logon",
        "authentication",
        _WINDOWS_SECURITY,
        AUTHENTICATION,
        AUTH_EVENT_IDS,
    ),
    LogsourceSpec(
        "windows_process",
        "process_activity",
        _WINDOWS_SECURITY,
        PROCESS,
        frozenset({4688, 4689}),
    ),
)


@dataclass
class EventIdTransformation(DetectionItemTransformation):
    """`EventID: 4625` becomes the OCSF columns the parser derives from it (`status_id: 2`)."""

    event_ids: Mapping[int, Mapping[str, int]]

    def apply_detection_item(
        self, detection_item: SigmaDetectionItem
    ) -> SigmaDetection | SigmaDetectionItem | None:
        if detection_item.field != "EventID" or detection_item.negated:
            return None
        found = [_event_id(value) for value in detection_item.value]
        numbers = [number for number in found if number is not None]
        if not numbers or len(numbers) < len(found):
            return None
        if any(number not in self.event_ids for number in numbers):
            return None
        alternatives = [
            SigmaDetection(
                [
                    SigmaDetectionItem(name, [], [SigmaNumber(value)])
                    for name, value in self.event_ids[number].items()
                ]
            )
            for number in numbers
        ]
        return SigmaDetection(list(alternatives)) if len(alternatives) > 1 else alternatives[0]


def _event_id(value: object) -> int | None:
    if isinstance(value, SigmaNumber) and isinstance(value.number, int):
        return value.number
    if isinstance(value, SigmaString) and not value.contains_special():
        text = str(value)
        return int(text) if text.isdigit() else None
    return None


def rule_event_ids(rule: SigmaRule) -> set[int]:
    """Every EventID value a rule names (to pick the class of a `windows/security` rule)."""
    found: set[int] = set()

    def walk(detection: SigmaDetection) -> None:
        for item in detection.detection_items:
            if isinstance(item, SigmaDetection):
                walk(item)
            elif item.field == "EventID":
                found.update(number for v in item.value if (number := _event_id(v)) is not None)

    for detection in rule.detection.detections.values():
        walk(detection)
    return found


def logsource_spec(rule: SigmaRule) -> LogsourceSpec | None:
    """The table entry of a rule's log source, or None when Vigil has no events for it."""
    return next((spec for spec in LOGSOURCES if spec.matches(rule)), None)


def spec_named(name: str) -> LogsourceSpec | None:
    """The table entry called `name` (`windows_logon`), or None."""
    return next((spec for spec in LOGSOURCES if spec.name == name), None)


def event_class_for(rule: SigmaRule) -> str | None:
    """Short name of the event class a rule's events are in (`process_activity`)."""
    spec = logsource_spec(rule)
    return spec.event_class if spec else None


@dataclass
class SpecCondition(RuleProcessingCondition):
    """True for the rules whose log source `logsource_spec` resolves to this spec."""

    spec_name: str

    def match(self, rule: SigmaRule | SigmaCorrelationRule) -> bool:
        if not isinstance(rule, SigmaRule):
            return False
        spec = logsource_spec(rule)
        return spec is not None and spec.name == self.spec_name


def _mapping(spec: LogsourceSpec) -> dict[str | None, str | list[str]]:
    mapping: dict[str | None, str | list[str]] = dict(spec.mapping.items())
    return mapping


def vigil_pipeline(placeholders: Mapping[str, Sequence[str]] | None = None) -> ProcessingPipeline:
    """The pipeline for Sigma rules on Vigil's events.

    `placeholders` fill `|expand` values (`%admins%`) with lists, as pySigma's
    `value_placeholders` transformation does.
    """
    items: list[ProcessingItem] = []
    if placeholders:
        items.append(ProcessingItem(ValueListPlaceholderTransformation(), identifier="vigil_vars"))
    items.append(
        ProcessingItem(
            MapStringTransformation({"true": "Outbound", "false": "Inbound"}),
            identifier="vigil_initiated",
            field_name_conditions=[IncludeFieldCondition(["Initiated"])],
        )
    )
    for spec in LOGSOURCES:
        items.append(
            ProcessingItem(
                FieldMappingTransformation(_mapping(spec)),
                identifier=f"vigil_{spec.name}",
                rule_conditions=[SpecCondition(spec.name)],
            )
        )
    # Last: the class of a windows/security rule is chosen by its EventID values.
    items.append(
        ProcessingItem(
            EventIdTransformation(EVENT_IDS),
            identifier="vigil_event_id",
            rule_conditions=[LogsourceCondition(product="windows", service="security")],
        )
    )
    variables = {name: list(values) for name, values in (placeholders or {}).items()}
    return ProcessingPipeline(name="Vigil OCSF", priority=20, items=items, vars=variables)
