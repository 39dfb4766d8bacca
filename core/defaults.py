"""The defaults TrainConfig (core.config) starts from and the settings recommended on top of them: the bundled model,
the default prompt when the schema stays out of it and the database's name in it, the original recipe's settings (a
7B model on a GPU) and those of a small model on a CPU and on a GPU. The CLI and the Train tab fill the form with
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
    "epochs": 2.5,
    "grpo_steps": 0,
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
    "epochs": 2.5,
    "grpo_steps": 0,
}


# The reinforcement phase (GRPO) a small model on a GPU gets after its supervised steps: rewards from the database
# lifted BIRD dev by 5-8 points at 0.5-7B in published work (Arctic-Text2SQL-R1, SLM-SQL); this number of steps is not
# yet calibrated here (docs/BENCHMARKS.md). On a CPU a step costs about a minute: off unless asked.
GPU_GRPO_STEPS = 100
# A small model on a GPU: the small model's way of learning (a higher learning rate, prompts that name the database)
# and the GPU's abundance of steps. Measured with the real bundled model on an H100 on three Spider dev databases'
# human questions (issue 37): the recipe's settings (lr 2e-4, the full schema, 10 epochs of 500 generated pairs)
# scored 18.1% mean; lr 1e-3, no schema and about 15 epochs of 2,000 generated pairs scored 54.2% (the 2-core CPU's
# 10 minutes of the CPU defaults: 49.4%). Not yet calibrated per setting on Spider train (docs/BENCHMARKS.md says
# what is missing); the Data tab generates GPU_PAIRS pairs by default on a GPU.
SMALL_ON_GPU = {**SMALL_ON_CPU, "epochs": 15.0, "grpo_steps": GPU_GRPO_STEPS}
SMALL_MODEL_PARAMS = 1e9  # models up to this size take the small model's settings
PAIRS_TO_GENERATE = {"cpu": 500, "gpu": 2000}


def is_small(model: str, parameters: float | None) -> bool:
    """The bundled model, or a model of up to SMALL_MODEL_PARAMS parameters (when its size is known)."""
    return model in (BUNDLED_MODEL, "bundled") or (
        parameters is not None and parameters <= SMALL_MODEL_PARAMS
    )


def recommended_settings(model: str, gpu: bool, parameters: float | None = None) -> dict:
    """Defaults that fit the model and the machine: for a small model (`is_small`; `parameters` from its config,
    core.train.model_size) SMALL_ON_GPU or SMALL_ON_CPU, for a larger one the recipe's (on a CPU too: such a run is
    slow anyway, and the recipe is what it was tuned with). Evaluation after training is on (it needs held-out rows,
    which the default split gives)."""
    if is_small(model, parameters):
        chosen = SMALL_ON_GPU if gpu else SMALL_ON_CPU
    else:
        chosen = RECIPE
    return {**chosen, "evaluate_after": True}


def pairs_to_generate(gpu: bool) -> int:
    """The Data tab's and `core generate`'s default number of pairs: a GPU trains many more epochs in its minutes."""
    return PAIRS_TO_GENERATE["gpu" if gpu else "cpu"]


# Candidates per answer by machine (core.evaluate.vote): one greedy answer costs ~2 s on 2 CPU cores and the sampled
# ones about half as much each again (docs/BENCHMARKS.md), so a CPU answers greedily unless asked; a GPU samples eight
# in about the time of one.
DEFAULT_CANDIDATES = {"cpu": 1, "cuda": 8}


def default_candidates(gpu: bool) -> int:
    return DEFAULT_CANDIDATES["cuda" if gpu else "cpu"]
