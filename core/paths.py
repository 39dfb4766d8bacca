"""Where the studio keeps its files: one data folder (default ./data, or $STUDIO_DATA_DIR)."""

import os
import re
import unicodedata
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASSETS = PROJECT_ROOT / "assets"
SAMPLE_PAIRS = ASSETS / "sample_pairs.jsonl"
SAMPLE_SCHEMA = ASSETS / "sample_schema.sql"
SAMPLE_DATA = ASSETS / "sample_data.sql"


def data_dir() -> Path:
    """The studio's data folder: MLflow store, model cache, run outputs. Created on first use."""
    path = Path(os.environ.get("STUDIO_DATA_DIR", PROJECT_ROOT / "data")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def outputs_dir() -> Path:
    path = data_dir() / "outputs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def exports_dir() -> Path:
    path = data_dir() / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


class UnsafeNameError(ValueError):
    """A user-given name that cannot be made into a safe file or registry name."""


def safe_name(name: str, max_length: int = 64) -> str:
    """A user-given name made safe to use as one file/folder name, an MLflow registered model name or an
    Ollama model name: ASCII letters, digits, '.', '-' and '_' only. Path separators, '..', spaces and control
    characters become '-', so a name can never point outside the folder it is put in. Raises UnsafeNameError
    when nothing usable is left."""
    ascii_text = unicodedata.normalize("NFKD", str(name or "")).encode("ascii", "ignore").decode()  # é -> e
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_text.strip())
    cleaned = re.sub(r"[.-]{2,}", "-", cleaned)  # no '..' anywhere, even between letters
    cleaned = cleaned.strip(".-_")[:max_length].strip(".-_")
    if not cleaned:
        raise UnsafeNameError(f"{str(name)[:80]!r} cannot be used as a name: use letters, digits, '.', '-' "
                              "or '_' (for example sales-sql-v1).")
    return cleaned
