"""Respond: typed, registered actions that contain an incident, and the adapters that carry them out.

    from vigil.respond import ExecutionContext, actions, rollback

    result = actions.get("block_ip")().run(
        {"address": "203.0.113.7", "expires_in": 3600}, context
    )

Importing this package registers every action (`network`, `identity`,
`messaging`). Real adapters (nftables, SCIM, webhook, SMTP, MQTT) are in
`vigil.respond.adapters`; `vigil.respond.recording` is the in-memory backend for
tests and dry runs.
"""

from __future__ import annotations

from vigil.respond import identity, messaging, network
from vigil.respond.actions import (
    Action,
    Applied,
    ExecutionContext,
    ExpiringParams,
    actions,
    load_result,
    load_rollback,
    rollback,
    run_rollback,
)
from vigil.respond.backends import Backends
from vigil.respond.errors import (
    AdapterError,
    AmbiguousError,
    ConfigError,
    ParamsError,
    PermanentError,
    RecordError,
    RepeatRefusedError,
    RespondError,
    RollbackError,
    TransientError,
)
from vigil.respond.ledger import Ledger, LedgerEntry, MemoryLedger, execution_key
from vigil.respond.retry import RetryPolicy, call_with_retry
from vigil.respond.types import (
    ActionParams,
    ActionResult,
    ActionStatus,
    Attempt,
    Change,
    Failure,
    FailureKind,
    RiskLevel,
    RollbackHandle,
)

__all__ = [
    "Action",
    "ActionParams",
    "ActionResult",
    "ActionStatus",
    "AdapterError",
    "AmbiguousError",
    "Applied",
    "Attempt",
    "Backends",
    "Change",
    "ConfigError",
    "ExecutionContext",
    "ExpiringParams",
    "Failure",
    "FailureKind",
    "Ledger",
    "LedgerEntry",
    "MemoryLedger",
    "ParamsError",
    "PermanentError",
    "RecordError",
    "RepeatRefusedError",
    "RespondError",
    "RetryPolicy",
    "RiskLevel",
    "RollbackError",
    "RollbackHandle",
    "TransientError",
    "actions",
    "call_with_retry",
    "execution_key",
    "identity",
    "load_result",
    "load_rollback",
    "messaging",
    "network",
    "rollback",
    "run_rollback",
]
