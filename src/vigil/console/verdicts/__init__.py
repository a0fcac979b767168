"""Analysts' verdicts as labels for learning: every decision, in the order it was made."""
