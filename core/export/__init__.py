"""Export: take an adapter out of the studio (zip with README, merged model, GGUF file, Ollama bundle), check that
the exported model answers like the adapter, and register adapters in the MLflow Model Registry.

It may use core.evaluate (the self-check generates SQL), core.train (models), core.tracking (runs and their
artifacts) and everything below.
"""

from core.export.converter import GGUF_TYPES, ConversionError
from core.export.export import (
    FORMATS,
    STAGES,
    ExportError,
    export,
    source_from_adapter,
    source_from_run,
    stage_of,
)
from core.export.registry import VERSION_COLUMNS, RegistryError, list_versions, register_run, set_champion
from core.export.selfcheck import DEFAULT_QUESTIONS

__all__ = [
    "DEFAULT_QUESTIONS",
    "FORMATS",
    "GGUF_TYPES",
    "STAGES",
    "VERSION_COLUMNS",
    "ConversionError",
    "ExportError",
    "RegistryError",
    "export",
    "list_versions",
    "register_run",
    "set_champion",
    "source_from_adapter",
    "source_from_run",
    "stage_of",
]
