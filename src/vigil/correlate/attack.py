"""ATT&CK techniques of the shipped rules mapped to their tactic, and tactics in kill-chain order.

A technique can serve several tactics; each gets the one it most often stands
for in a retail intrusion (T1078 Valid Accounts: initial access). Only the
techniques the pack's rules name are here (a test checks every one of them);
an unknown technique is left out of the progression, not guessed.
"""

from __future__ import annotations

from collections.abc import Iterable

KILL_CHAIN = (
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
)
"""Enterprise tactics in kill-chain order (ICS techniques map onto the same names)."""

TECHNIQUE_TACTIC = {
    # Enterprise
    "T1003": "credential-access",  # OS credential dumping
    "T1021": "lateral-movement",  # remote services
    "T1027": "defense-evasion",  # obfuscated files
    "T1041": "exfiltration",  # exfiltration over C2 channel
    "T1046": "discovery",  # network service discovery
    "T1053": "execution",  # scheduled task
    "T1059": "execution",  # command and scripting interpreter
    "T1071": "command-and-control",  # application layer protocol
    "T1078": "initial-access",  # valid accounts
    "T1083": "discovery",  # file and directory discovery
    "T1105": "command-and-control",  # ingress tool transfer
    "T1110": "credential-access",  # brute force
    "T1133": "initial-access",  # external remote services
    "T1140": "defense-evasion",  # deobfuscate/decode
    "T1189": "initial-access",  # drive-by compromise
    "T1190": "initial-access",  # exploit public-facing application
    "T1197": "defense-evasion",  # BITS jobs
    "T1213": "collection",  # data from information repositories
    "T1218": "defense-evasion",  # system binary proxy execution
    "T1498": "impact",  # network denial of service
    "T1499": "impact",  # endpoint denial of service
    "T1505": "persistence",  # server software component
    "T1569": "execution",  # system services
    "T1570": "lateral-movement",  # lateral tool transfer
    "T1595": "reconnaissance",  # active scanning
    # ICS
    "T0839": "persistence",  # module firmware
    "T0846": "discovery",  # remote system discovery
    "T0869": "command-and-control",  # standard application layer protocol
    "T0883": "initial-access",  # internet accessible device
}

TACTIC_LABEL = {tactic: tactic.replace("-", " ") for tactic in KILL_CHAIN}
TACTIC_LABEL["command-and-control"] = "command and control"


def tactic_of(technique: str) -> str | None:
    """The tactic of a technique id (`T1071.004` -> command-and-control), None if unknown."""
    return TECHNIQUE_TACTIC.get(technique.strip().upper().split(".", 1)[0])


def progression(techniques: Iterable[str]) -> tuple[str, ...]:
    """Distinct tactics the techniques reach, in kill-chain order."""
    reached = {tactic for tactic in map(tactic_of, techniques) if tactic is not None}
    return tuple(tactic for tactic in KILL_CHAIN if tactic in reached)


def describe(tactics: tuple[str, ...]) -> str:
    """`3 tactics from initial access to exfiltration`, `discovery`, or empty."""
    if not tactics:
        return ""
    if len(tactics) == 1:
        return TACTIC_LABEL[tactics[0]]
    return f"{len(tactics)} tactics from {TACTIC_LABEL[tactics[0]]} to {TACTIC_LABEL[tactics[-1]]}"
