"""Training settings as one documented dataclass. The help texts also feed the UI's hints.

`validate_config` returns plain-language problems per field (an empty dict when all is well), so the
CLI and the UI can show them next to the fields before anything starts.
"""

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from urllib.parse import unquote, urlsplit

from core.data import (
    DEFAULT_SYSTEM_TEMPLATE,
    DIALECTS,
    SCHEMA_MODES,
    PromptFormat,
    TemplateError,
    system_prompt,
)
from core.paths import SAMPLE_DATABASE, SAMPLE_PAIRS, SAMPLE_SCHEMA, check_name

ALL_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
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


def _f(default, help: str, **kw):
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help, **kw})
    return field(default=default, metadata={"help": help, **kw})


@dataclass
class TrainConfig:
    # What to train on
    data_path: str = _f("", "The question/SQL pairs file (JSON, JSONL or CSV).")
    data_name: str = _f("", "The pairs file's name as the user knows it (an upload is stored under a generated "
                        "name); what the studio shows. Empty: the stored file's name.")
    schema_path: str = _f("", "Optional DDL file (CREATE TABLE statements) put in every prompt.")
    schema_text: str = _f("", "The DDL as text (used when no schema file is given).")
    dialect: str = _f("postgres", "The SQL dialect your database speaks; the SQL is checked against it.")
    database: str = _f("", "The connected database the pairs are checked on and the evaluation runs on: a SQLite or "
                       "DuckDB file, a folder of CSV/Parquet files, a postgresql:// URL (its password is masked in "
                       "every log and in MLflow), a .sql script, or 'sample'. Empty: the DuckDB built from the schema.")
    system_template: str = _f(DEFAULT_SYSTEM_TEMPLATE, "The system prompt. {dialect}, {schema} and {database} are "
                              "filled in.")
    schema_in_prompt: str = _f("full", "What each prompt says about your database. full: every table's CREATE TABLE "
                               "(fits small schemas and a model that must read the schema). relevant: only the "
                               "tables the question mentions (shorter prompts for big schemas). none: only the "
                               "database's name; the adapter learns the schema from the pairs (fastest; fits "
                               "hundreds of pairs about one database, and small models).", choices=SCHEMA_MODES)
    database_name: str = _f("", "How the prompt names your database ({database}); default: the schema or data "
                            "file's name.")
    exclude_error_rows: bool = _f(True, "Leave out rows the validator marks as errors.")
    # Which model
    model: str = _f(BUNDLED_MODEL, "The base model: the bundled SmolLM2-135M (works offline, CPU-friendly), a "
                    "Hugging Face id such as unsloth/Qwen2.5-Coder-7B, or a local folder.")
    trust_remote_code: bool = _f(False, "Run Python code that ships with the model (its auto_map classes). Off: "
                                 "such models are refused. Turn it on only for a model whose code you trust.")
    gpus: int = _f(1, "How many GPUs this run trains on (data parallel: each GPU takes its own share of every step). "
                   "0 = all the GPUs of this machine.", min=0, max=64)
    load_in_4bit: bool | None = _f(None, "Load the base model in 4-bit to save GPU memory (QLoRA). Default: on "
                                   "with a GPU, off on CPU (4-bit needs CUDA).")
    # LoRA
    rank: int = _f(16, "LoRA rank: how much the adapter can learn. 8-64 is typical; 16 is a good start.", min=1, max=512)
    alpha: int = _f(32, "LoRA alpha: scales the adapter's effect. Usually 1-2x the rank.", min=1, max=1024)
    dropout: float = _f(0.0, "LoRA dropout: 0 is fastest with Unsloth; 0.05-0.1 can help on tiny datasets.",
                        min=0.0, max=0.5)
    target_modules: list = _f(list(ALL_PROJECTIONS), "Which layers get an adapter. All 7 projections is "
                              "the recommended default.")
    # Schedule
    max_steps: int = _f(0, "Optimizer steps. 0 = the suggested number: about 2.5 epochs of your pairs, capped on a CPU "
                        "at about 10 minutes of training (the plan line says how many).", min=0, max=100000)
    learning_rate: float = _f(2e-4, "Step size. 1e-4 to 3e-4 is safe for LoRA; lower it if the loss jumps around.",
                              min=1e-7, max=1e-2)
    batch_size: int = _f(2, "Pairs per micro-batch. Higher is faster on a GPU if memory allows.", min=1, max=1024)
    grad_accum: int = _f(4, "Micro-batches per optimizer step. Pairs per step = batch size x this.", min=1, max=1024)
    warmup_steps: int = _f(5, "Steps at the start with a ramping learning rate. 5-10% of the steps (capped below the "
                            "number of steps).", min=0)
    max_seq_length: int = _f(2048, "Longest prompt+answer in tokens; longer rows are cut. 512-4096 typical.",
                             min=32, max=131072)
    packing: bool | None = _f(None, "Pack several short pairs into one sequence: much faster on a GPU, no "
                              "effect on what is learned. Default: on with a GPU, off on CPU.")
    batch_tokens: int = _f(0, "With packing on a GPU: tokens per micro-batch (pairs packed end to end); replaces "
                           "the batch size there. 0 = auto: 4,096-16,384 chosen from the data so an epoch has about "
                           "20 steps. Lower it if the GPU runs out of memory.", min=0, max=1048576)
    answer_only_loss: bool = _f(True, "Train on the SQL answer only, not on the prompt (recommended).")
    seed: int = _f(3407, "Random seed, for repeatable runs.")
    eval_fraction: float = _f(0.1, "Share of pairs held out (never trained on) to measure eval loss and SQL "
                              "execution accuracy. 0.1 = 10%; 0 = train on everything.", min=0.0, max=0.5)
    evaluate_after: bool = _f(False, "When training ends, run the held-out questions through the base model and "
                              "the adapter, execute their SQL and log the accuracies to the run.")
    eval_data_path: str = _f("", "Rows to execute the evaluation on: a SQL script of INSERTs, a folder with one CSV "
                             "per table, or a SQLite file. Default: the sample data with the sample schema.")
    logging_steps: int = _f(1, "Log loss every N steps.", min=1)
    checkpoint_every: int = _f(50, "Save a checkpoint every N steps (the last 2 are kept), so a run killed by a crash "
                               "or a restart can resume from there. 0 = no checkpoints.", min=0, max=100000)
    # Where
    experiment: str = _f("text2sql-finetune", "The MLflow experiment the run goes to.")
    run_name: str = _f("", "A name for the run (optional).")

    @classmethod
    def help(cls, name: str) -> str:
        return next(f.metadata.get("help", "") for f in fields(cls) if f.name == name)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def database_label(self) -> str:
        """The database's name in the prompt: the setting, else the connected database's own name (file stem,
        DuckDB catalog, PostgreSQL database), else the schema (or data) file's name."""
        if self.database_name.strip():
            return self.database_name.strip()
        if self.database.strip():
            return database_name_of(self.database)
        samples = (SAMPLE_SCHEMA.name, SAMPLE_PAIRS.name)
        if Path(self.schema_path or self.data_path).name in samples:
            return SAMPLE_DATABASE
        stem = Path(self.schema_path or self.data_path or "database").stem
        return stem.removesuffix("_schema").removesuffix("_pairs") or "database"

    def prompt_format(self, schema_text: str) -> PromptFormat:
        """How this run's pairs become prompts (schema_text: the compact CREATE TABLEs of the whole database)."""
        template = default_template_for(self.schema_in_prompt, self.system_template)
        return PromptFormat(template, self.dialect, schema_text, self.schema_in_prompt, self.database_label())

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# The original recipe's settings (a 7B model on a GPU): a few hundred steps' worth of signal per step, gently.
RECIPE = {"learning_rate": 2e-4, "batch_size": 2, "grad_accum": 4, "max_steps": 60, "warmup_steps": 5, "rank": 16,
          "alpha": 32, "schema_in_prompt": "full", "max_seq_length": 2048}
# A small model on a CPU learns from short prompts at a higher learning rate, one micro-batch per step: measured on
# the sample data (2-core CPU), 0% -> over 60% execution accuracy in minutes, where the recipe's settings gave 5%.
SMALL_ON_CPU = {"learning_rate": 1e-3, "batch_size": 4, "grad_accum": 1, "max_steps": 0, "warmup_steps": 5,
                "rank": 16, "alpha": 32, "schema_in_prompt": "none", "max_seq_length": 512}


def recommended_settings(model: str, gpu: bool) -> dict:
    """Defaults that fit the model and the machine: the recipe's for a GPU, SMALL_ON_CPU for the bundled model
    without one. Evaluation after training is on (it needs held-out rows, which the default split gives)."""
    chosen = RECIPE if gpu or model not in (BUNDLED_MODEL, "bundled") else SMALL_ON_CPU
    return {**chosen, "evaluate_after": True}


def default_value(name: str):
    f = next(f for f in fields(TrainConfig) if f.name == name)
    return f.default_factory() if f.default is MISSING else f.default


def validate_config(cfg: TrainConfig) -> dict[str, str]:
    """Problems per field name, in plain words. Empty when the config can start."""
    problems: dict[str, str] = {}
    for f in fields(TrainConfig):
        value, lo, hi = getattr(cfg, f.name), f.metadata.get("min"), f.metadata.get("max")
        if lo is None and hi is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems[f.name] = f"must be a number, got {value!r}"
        elif (lo is not None and value < lo) or (hi is not None and value > hi):
            problems[f.name] = f"must be between {lo:g} and {hi:g}, got {value:g}" if hi is not None \
                else f"must be at least {lo:g}, got {value:g}"
    if cfg.schema_in_prompt not in SCHEMA_MODES:
        problems["schema_in_prompt"] = f"unknown choice {cfg.schema_in_prompt!r}; pick one of {', '.join(SCHEMA_MODES)}"
    if cfg.dialect not in DIALECTS:
        problems["dialect"] = f"unknown dialect {cfg.dialect!r}; pick one of {', '.join(DIALECTS)}"
    if not cfg.target_modules:
        problems["target_modules"] = "pick at least one layer type (all 7 projections is the default)"
    elif not set(cfg.target_modules) <= set(ALL_PROJECTIONS):
        extra = sorted(set(cfg.target_modules) - set(ALL_PROJECTIONS))
        problems["target_modules"] = f"unknown layer type(s) {', '.join(extra)}; use {', '.join(ALL_PROJECTIONS)}"
    if not cfg.model.strip():
        problems["model"] = "choose a model"
    if not cfg.data_path.strip():
        problems["data_path"] = "choose a file of question/SQL pairs"
    try:
        system_prompt(cfg.system_template, cfg.dialect, "")
    except TemplateError as e:
        problems["system_template"] = str(e)
    for name in ("run_name", "experiment"):  # they become MLflow names and, on export, file names
        value = getattr(cfg, name)
        if value or name == "experiment":
            try:
                check_name(value)
            except ValueError as e:
                problems[name] = str(e)
    return problems
