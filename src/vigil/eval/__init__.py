"""Evaluation: replay history through detection and score it against the simulator's truth."""

from vigil.eval.replay import ReplayProgress, ReplayResult, replay
from vigil.eval.report import EvalProgress, EvalReport, PhaseTiming
from vigil.eval.run import run_eval
from vigil.eval.score import Scorecard, read_truth, score_alerts

__all__ = [
    "EvalProgress",
    "EvalReport",
    "PhaseTiming",
    "ReplayProgress",
    "ReplayResult",
    "Scorecard",
    "read_truth",
    "replay",
    "run_eval",
    "score_alerts",
]
