"""OCSF 1.8.0 System Activity classes (category 1): processes and files on a host.

Endpoint telemetry (osquery on tills and back-office PCs, Sysmon on Windows)
reports what ran and what it touched. The objects here are the parts of the
official `process`, `file` and `actor` objects that such telemetry fills; the
test suite checks every attribute against the official schema.
"""

from __future__ import annotations

from typing import ClassVar

from vigil.events.base import OcsfEvent
from vigil.events.objects import Actor, Device, User
from vigil.events.types import OcsfModel, Timestamp


class File(OcsfModel):
    """OCSF `file`: a file by path; `type_id` 1 is a regular file."""

    name: str
    type_id: int = 0
    type: str | None = None
    path: str | None = None
    parent_folder: str | None = None
    size: int | None = None
    uid: str | None = None


class ParentProcess(OcsfModel):
    """OCSF `process`, as the parent of another or as the actor: no further ancestry."""

    pid: int | None = None
    uid: str | None = None
    name: str | None = None
    path: str | None = None
    cmd_line: str | None = None


class Process(OcsfModel):
    """OCSF `process`: a running program, its image file, user and parent."""

    pid: int | None = None
    uid: str | None = None
    name: str | None = None
    path: str | None = None
    cmd_line: str | None = None
    working_directory: str | None = None
    created_time: Timestamp | None = None
    integrity: str | None = None
    file: File | None = None
    user: User | None = None
    parent_process: ParentProcess | None = None


class ProcessActor(Actor):
    """OCSF `actor` with the process that acted (Vigil's core `Actor` has no `process`)."""

    process: ParentProcess | None = None


class ProcessActivity(OcsfEvent):
    """Process launches and terminations on a host (osquery process_events, Sysmon 1)."""

    CLASS_UID: ClassVar[int] = 1007
    CLASS_NAME: ClassVar[str] = "process_activity"
    CLASS_CAPTION: ClassVar[str] = "Process Activity"
    CATEGORY_UID: ClassVar[int] = 1

    process: Process
    actor: ProcessActor
    device: Device
    exit_code: int | None = None


class FileActivity(OcsfEvent):
    """File creation, change, rename and deletion on a host (osquery file_events)."""

    CLASS_UID: ClassVar[int] = 1001
    CLASS_NAME: ClassVar[str] = "file_activity"
    CLASS_CAPTION: ClassVar[str] = "File System Activity"
    CATEGORY_UID: ClassVar[int] = 1

    file: File
    actor: ProcessActor
    device: Device
