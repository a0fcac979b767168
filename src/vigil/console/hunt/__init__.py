"""Hunting: event search with filters, read-only SQL over the lake, saved searches; in scope only."""
