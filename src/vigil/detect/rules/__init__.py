"""Native rule kinds; importing this package registers them all."""

from vigil.detect.rules import aggregate, forecast, match, new_value, scored, sequence
from vigil.detect.rules.base import Rule, RuleSpec, kinds

__all__ = [
    "Rule",
    "RuleSpec",
    "aggregate",
    "forecast",
    "kinds",
    "match",
    "new_value",
    "scored",
    "sequence",
]
