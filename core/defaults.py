"""The defaults TrainConfig (core.config) starts from and the settings recommended on top of them: the bundled model,
the default prompt when the schema stays out of it and the database's name in it, the original recipe's settings (a
7B model on a GPU) and those of a small model on a CPU. The CLI and the Train tab fill the form with
`recommended_settings` for the chosen model and machine.
"""

from pathlib import Path
from urllib.parse import unquote, urlsplit

from core.data import DEFAULT_SYSTEM_TEMPLATE
from core.paths import SAMPLE_DATABASE

BUNDLED_MODEL = "bundled:SmolLM2-135M-Instruct"
# The default prompt when the schema stays out of it: it names the database, as the original recipe's prompt does.
NO_SCHEMA_TEMPLATE = "You are a {dialect} SQL expert for the {database} database."


def database_name_of(source: str) -> str:
    """A connected database's own name, from its source string alone (no connection): the sample's name, a
    PostgreSQL URL's database, a file's stem (a DuckDB file's catalog is its stem too), a folder's name."""
    source = (source or "").strip()
    if source == "sample":
        return SAMPLE_DATABASE
    if source.startswith(("postgresql://", "postgres://")):
        return unquote(urlsplit(source).path.lstrip("/")) or "postgres"
    path = Path(source.rstrip("/\\"))
    return (path.stem if path.suffix else path.name) or "database"


def default_template_for(schema_in_prompt: str, template: str) -> str:
    """A template left at a default follows the schema mode (the prompt without the schema names the database);
    one the person wrote is kept."""
    if template in (DEFAULT_SYSTEM_TEMPLATE, NO_SCHEMA_TEMPLATE):
        return NO_SCHEMA_TEMPLATE if schema_in_prompt == "none" else DEFAULT_SYSTEM_TEMPLATE
    return template


# The original recipe's settings (a 7B model on a GPU): a few hundred steps' worth of signal per step, gently.
RECIPE = {
    "learning_rate": 2e-4,
    "batch_size": 2,
    "grad_accum": 4,
    "max_steps": 60,
    "warmup_steps": 5,
    "rank": 16,
    "alpha": 32,
    "schema_in_prompt": "full",
    "max_seq_length": 2048,
}
# A small model on a CPU learns from short prompts at a higher learning rate, one micro-batch per step: measured on
# the sample data (2-core CPU), 0% -> over 60% execution accuracy in minutes, where the recipe's settings gave 5%.
SMALL_ON_CPU = {
    "learning_rate": 1e-3,
    "batch_size": 4,
    "grad_accum": 1,
    "max_steps": 0,
    "warmup_steps": 5,
    "rank": 16,
    "alpha": 32,
    "schema_in_prompt": "none",
    "max_seq_length": 512,
}


def recommended_settings(model: str, gpu: bool) -> dict:
    """Defaults that fit the model and the machine: the recipe's for a GPU, SMALL_ON_CPU for the bundled model
    without one. Evaluation after training is on (it needs held-out rows, which the default split gives)."""
    chosen = RECIPE if gpu or model not in (BUNDLED_MODEL, "bundled") else SMALL_ON_CPU
    return {**chosen, "evaluate_after": True}
