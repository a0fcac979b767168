"""Which playbooks an incident triggers: the trigger, then the playbook's conditions."""

from __future__ import annotations

from fnmatch import fnmatchcase

from vigil.respond.playbooks.conditions import Verdict, check
from vigil.respond.playbooks.facts import IncidentFacts, Situation
from vigil.respond.playbooks.types import Playbook, Trigger
from vigil.respond.playbooks.vocab import SeverityName


def triggered(trigger: Trigger, facts: IncidentFacts) -> Verdict:
    """Whether every part of the trigger that is given matches the incident."""
    reasons = []
    if trigger.use_cases:
        found = sorted(facts.use_cases & set(trigger.use_cases))
        if not found:
            return Verdict(False, (f"use cases {', '.join(sorted(facts.use_cases)) or 'none'}",))
        reasons.append(f"use case {found[0]}")
    if trigger.rules:
        rules = sorted(r for r in facts.rules if any(fnmatchcase(r, p) for p in trigger.rules))
        if not rules:
            return Verdict(False, ("no rule of the incident matches",))
        reasons.append(f"rule {rules[0]}")
    if trigger.min_severity is not None:
        name = SeverityName.of(facts.severity)
        if facts.severity < trigger.min_severity.level:
            return Verdict(False, (f"severity {name} is below {trigger.min_severity}",))
        reasons.append(f"severity {name}")
    if trigger.tags:
        tags = sorted(facts.tags & set(trigger.tags))
        if not tags:
            return Verdict(False, ("no tag of the trigger",))
        reasons.append(f"tag {tags[0]}")
    return Verdict(True, tuple(reasons))


def applies(playbook: Playbook, situation: Situation) -> Verdict:
    """The trigger and the playbook's conditions, with the reasons."""
    trigger = triggered(playbook.trigger, situation.facts)
    if not trigger.holds:
        return trigger
    conditions = check(playbook.conditions, situation)
    if not conditions.holds:
        return conditions
    return Verdict(True, trigger.reasons + conditions.reasons)
