"""Sigma rules on Vigil's columnar OCSF events: pySigma parses, Vigil maps and compiles to polars."""

from vigil.detect.sigma.compile import KEYWORD_COLUMNS, compile_detections, compile_rule, where_expr
from vigil.detect.sigma.correlation import evaluate_correlation
from vigil.detect.sigma.loader import SigmaItem, class_schema, lint_sigma, load_all, load_sigma
from vigil.detect.sigma.matchers import SigmaCompileError
from vigil.detect.sigma.pipeline import LOGSOURCES, event_class_for, vigil_pipeline
from vigil.detect.sigma.types import (
    ConditionOp,
    CorrelationType,
    SigmaCorrelation,
    SigmaDetection,
)

__all__ = [
    "KEYWORD_COLUMNS",
    "LOGSOURCES",
    "ConditionOp",
    "CorrelationType",
    "SigmaCompileError",
    "SigmaCorrelation",
    "SigmaDetection",
    "SigmaItem",
    "class_schema",
    "compile_detections",
    "compile_rule",
    "evaluate_correlation",
    "event_class_for",
    "lint_sigma",
    "load_all",
    "load_sigma",
    "vigil_pipeline",
    "where_expr",
]
