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
SAMPLE_DATABASE = "company_sales"  # the sample database's name, as prompts that leave the schema out name it


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
        raise UnsafeNameError(
            f"{str(name)[:80]!r} cannot be used as a name: use letters, digits, '.', '-' "
            "or '_' (for example sales-sql-v1)."
        )
    return cleaned


MAX_NAME_LENGTH = 120
_RESERVED = set('<>:"|?*')  # not allowed in Windows file names; refused everywhere so names travel


def check_name(name: str) -> str:
    """A user-given display name (a run, an experiment) as typed, or ValueError saying what to change.

    Unlike `safe_name`, which rewrites a name into a file name, this keeps the user's name (spaces, accents)
    but refuses what could point elsewhere or hide itself once it becomes part of a path or a log line: path
    traversal (`..`, `/`, `\\`), absolute paths, control or invisible formatting characters, reserved ones."""
    text = (name or "").strip()
    if not text:
        raise ValueError("The name is empty. Type a name (letters, digits, spaces, '-', '_' or '.').")
    shown = repr(text if len(text) <= 60 else text[:60] + "...")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text):
        raise ValueError(
            f"The name {shown} contains control or invisible characters. Use letters, digits, spaces, "
            "'-', '_' or '.'."
        )
    if "/" in text or "\\" in text or Path(text).is_absolute():
        raise ValueError(
            f"The name {shown} contains a path separator ('/' or '\\'): a name cannot point to another "
            "folder. Use '-' or '_' instead."
        )
    if set(text.strip(".")) == set() or text.startswith(".."):
        raise ValueError(
            f"The name {shown} is a relative folder reference ('.' or '..'). Give it a real name."
        )
    if _RESERVED & set(text):
        raise ValueError(
            f"The name {shown} contains one of {' '.join(sorted(_RESERVED))}, which file systems reserve. "
            "Leave them out."
        )
    if len(text) > MAX_NAME_LENGTH:
        raise ValueError(f"The name is {len(text)} characters long; keep it under {MAX_NAME_LENGTH}.")
    return text
