"""Export: take an adapter out of the studio (zip with README, merged model, Ollama bundle) and register it in
the MLflow Model Registry.

It may use core.train (models), core.tracking (runs and their artifacts) and everything below.
"""

from core.export.export import FORMATS, ExportError, export, source_from_adapter, source_from_run
from core.export.registry import VERSION_COLUMNS, RegistryError, list_versions, register_run, set_champion

__all__ = ["FORMATS", "VERSION_COLUMNS", "ExportError", "RegistryError", "export", "list_versions", "register_run",
           "set_champion", "source_from_adapter", "source_from_run"]
