"""Where the studio keeps its files: one data folder (default ./data, or $STUDIO_DATA_DIR)."""

import os
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
