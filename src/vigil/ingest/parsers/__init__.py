"""Parsers, one module per family of formats; importing this package registers them all.

Every module in this package is imported, so a new parser is one new file.
"""

from __future__ import annotations

import importlib
import pkgutil

from vigil.ingest.parsers.base import Parser, parsers

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Parser", "parsers"]
