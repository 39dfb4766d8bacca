"""The first groups of a run's settings: what it trains on (data: the pairs, the database, the system prompt and how
much of the schema it holds) and the base model (model: which one, how it loads, on how many GPUs). TrainConfig
(core.config.train_config) is these, then the recipe (core.config.recipe), then the evaluation and tracking groups.
"""

from dataclasses import dataclass

from core.data import DEFAULT_SYSTEM_TEMPLATE, DIALECTS, SCHEMA_MODES
from core.defaults import BUNDLED_MODEL
from core.settings import Settings, setting


@dataclass
class RunInputs(Settings):
    """What a run trains on, and from which model. Never made on its own: TrainConfig's first fields."""

    # ---- data: what to train on ----
    data_path: str = setting("", "The question/SQL pairs file (JSON, JSONL or CSV).", "data")
    data_name: str = setting(
        "",
        "The pairs file's name as the user knows it (an upload is stored under a generated "
        "name); what the studio shows. Empty: the stored file's name.",
        "data",
    )
    schema_path: str = setting("", "Optional DDL file (CREATE TABLE statements) put in every prompt.", "data")
    schema_text: str = setting("", "The DDL as text (used when no schema file is given).", "data")
    dialect: str = setting(
        "postgres",
        "The SQL dialect your database speaks; the SQL is checked against it.",
        "data",
        choices=DIALECTS,
    )
    database: str = setting(
        "",
        "The connected database the pairs are checked on and the evaluation runs on: a SQLite or "
        "DuckDB file, a folder of CSV/Parquet files, a postgresql:// URL (its password is masked in "
        "every log and in MLflow), a .sql script, or 'sample'. Empty: the DuckDB built from the schema.",
        "data",
    )
    system_template: str = setting(
        DEFAULT_SYSTEM_TEMPLATE,
        "The system prompt. {dialect}, {schema} and {database} are filled in.",
        "data",
    )
    schema_in_prompt: str = setting(
        "full",
        "What each prompt says about your database. full: every table's CREATE TABLE "
        "(fits small schemas and a model that must read the schema). relevant: only the "
        "tables the question mentions (shorter prompts for big schemas). none: only the "
        "database's name; the adapter learns the schema from the pairs (fastest; fits "
        "hundreds of pairs about one database, and small models).",
        "data",
        "Schema in the prompt",
        choices=SCHEMA_MODES,
        widget="radio",
    )
    database_name: str = setting(
        "",
        "How the prompt names your database ({database}); default: the connected database's "
        "own name, else the schema or data file's name.",
        "data",
        "Database name (in the prompt)",
        advanced=True,
    )
    exclude_error_rows: bool = setting(True, "Leave out rows the validator marks as errors.", "data")
    # ---- model: which base model, loaded how ----
    model: str = setting(
        BUNDLED_MODEL,
        "The base model: the bundled SmolLM2-135M (works offline, CPU-friendly), a "
        "Hugging Face id such as unsloth/Qwen2.5-Coder-7B, or a local folder.",
        "model",
        "Base model",
        widget="model",
        plan=True,
    )
    trust_remote_code: bool = setting(
        False,
        "Run Python code that ships with the model (its auto_map classes). Off: "
        "such models are refused. Turn it on only for a model whose code you trust.",
        "model",
        "Run the model's own code (trust_remote_code)",
        advanced=True,
    )
    gpus: int = setting(
        1,
        "How many GPUs this run trains on (data parallel: each GPU takes its own share of every step). "
        "0 = all the GPUs of this machine.",
        "model",
        "GPUs",
        min=0,
        max=64,
        advanced=True,
        plan=True,
    )
    load_in_4bit: bool | None = setting(
        None,
        "Load the base model in 4-bit to save GPU memory (QLoRA). Default: on with a GPU for models over 3B "
        "parameters (bitsandbytes unpacks every layer at every step: a smaller model trains faster in 16-bit), "
        "off on a CPU (4-bit needs CUDA).",
        "model",
        "4-bit loading",
        advanced=True,
        plan=True,
    )
    gradient_checkpointing: bool | None = setting(
        None,
        "Recompute activations in the backward pass instead of keeping them (Unsloth's offloaded checkpointing): "
        "less GPU memory, slower steps. Default: on where the model needs the memory, off for small models.",
        "model",
        "Gradient checkpointing",
        advanced=True,
        plan=True,
    )
