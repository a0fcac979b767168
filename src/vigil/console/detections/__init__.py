"""Detections: the rule pack with console overrides (enable, disable, edit), lint and backtests."""
