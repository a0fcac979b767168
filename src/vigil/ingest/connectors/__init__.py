"""Connectors, one module each; importing this package registers them all."""

from __future__ import annotations

import importlib
import pkgutil

from vigil.ingest.connectors.base import Batcher, Connector, ConnectorConfig, connectors

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Batcher", "Connector", "ConnectorConfig", "connectors"]
