"""Training settings as one documented dataclass. The help texts also feed the UI's hints.

`validate_config` returns plain-language problems per field (an empty dict when all is well), so the
CLI and the UI can show them next to the fields before anything starts.

The behaviour every documented setting shares (bounds, form values, help, JSON) is core.settings.Settings; the
defaults and the recommended settings are in core.defaults.
"""

from dataclasses import dataclass, field
from pathlib import Path

from core.data import (
    DEFAULT_SYSTEM_TEMPLATE,
    DIALECTS,
    SCHEMA_MODES,
    PromptFormat,
    TemplateError,
    system_prompt,
)
from core.defaults import BUNDLED_MODEL, database_name_of, default_template_for
from core.paths import SAMPLE_DATABASE, SAMPLE_PAIRS, SAMPLE_SCHEMA, check_name
from core.settings import Settings, field_default

ALL_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class ConfigError(ValueError):
    """The config has problems; `problems` maps field names to messages in plain words."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))


def _f(default, help: str, group: str, label: str = "", **kw):
    """A documented setting: its help (the UI's hint and the CLI's help), its group, and, for the Train tab's form,
    its label (no label: not in the form), its bounds (min, max, choices) and how it is shown (`advanced`, `widget`)."""
    meta = {"help": help, "group": group, "label": label, **kw}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class TrainConfig(Settings):
    """One training run's settings, in documented groups; an instance with a value out of its bounds cannot be made
    (ConfigError names every problem). What a start needs beyond that (a data file, a model) is `problems()`."""

    # ---- data: what to train on ----
    data_path: str = _f("", "The question/SQL pairs file (JSON, JSONL or CSV).", "data")
    data_name: str = _f(
        "",
        "The pairs file's name as the user knows it (an upload is stored under a generated "
        "name); what the studio shows. Empty: the stored file's name.",
        "data",
    )
    schema_path: str = _f("", "Optional DDL file (CREATE TABLE statements) put in every prompt.", "data")
    schema_text: str = _f("", "The DDL as text (used when no schema file is given).", "data")
    dialect: str = _f(
        "postgres",
        "The SQL dialect your database speaks; the SQL is checked against it.",
        "data",
        choices=DIALECTS,
    )
    database: str = _f(
        "",
        "The connected database the pairs are checked on and the evaluation runs on: a SQLite or "
        "DuckDB file, a folder of CSV/Parquet files, a postgresql:// URL (its password is masked in "
        "every log and in MLflow), a .sql script, or 'sample'. Empty: the DuckDB built from the schema.",
        "data",
    )
    system_template: str = _f(
        DEFAULT_SYSTEM_TEMPLATE,
        "The system prompt. {dialect}, {schema} and {database} are filled in.",
        "data",
    )
    schema_in_prompt: str = _f(
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
    database_name: str = _f(
        "",
        "How the prompt names your database ({database}); default: the connected database's "
        "own name, else the schema or data file's name.",
        "data",
        "Database name (in the prompt)",
        advanced=True,
    )
    exclude_error_rows: bool = _f(True, "Leave out rows the validator marks as errors.", "data")
    # ---- model: which base model, loaded how ----
    model: str = _f(
        BUNDLED_MODEL,
        "The base model: the bundled SmolLM2-135M (works offline, CPU-friendly), a "
        "Hugging Face id such as unsloth/Qwen2.5-Coder-7B, or a local folder.",
        "model",
        "Base model",
        widget="model",
        plan=True,
    )
    trust_remote_code: bool = _f(
        False,
        "Run Python code that ships with the model (its auto_map classes). Off: "
        "such models are refused. Turn it on only for a model whose code you trust.",
        "model",
        "Run the model's own code (trust_remote_code)",
        advanced=True,
    )
    gpus: int = _f(
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
    load_in_4bit: bool | None = _f(
        None,
        "Load the base model in 4-bit to save GPU memory (QLoRA). Default: on "
        "with a GPU, off on CPU (4-bit needs CUDA).",
        "model",
        "4-bit loading",
        advanced=True,
        plan=True,
    )
    gradient_checkpointing: bool | None = _f(
        None,
        "Recompute activations in the backward pass instead of keeping them (Unsloth's offloaded checkpointing): "
        "less GPU memory, slower steps. Default: on where the model needs the memory, off for small models.",
        "model",
        "Gradient checkpointing",
        advanced=True,
        plan=True,
    )
    # ---- lora: the adapter ----
    rank: int = _f(
        16,
        "LoRA rank: how much the adapter can learn. 8-64 is typical; 16 is a good start.",
        "lora",
        "LoRA rank",
        min=1,
        max=512,
        widget="slider",
        step=4,
        ui_max=128,
    )
    alpha: int = _f(
        32,
        "LoRA alpha: scales the adapter's effect. Usually 1-2x the rank.",
        "lora",
        "LoRA alpha",
        min=1,
        max=1024,
        widget="slider",
        step=4,
        ui_max=256,
    )
    dropout: float = _f(
        0.0,
        "LoRA dropout: 0 is fastest with Unsloth; 0.05-0.1 can help on tiny datasets.",
        "lora",
        "LoRA dropout",
        min=0.0,
        max=0.5,
        advanced=True,
    )
    target_modules: list = _f(
        list(ALL_PROJECTIONS),
        "Which layers get an adapter. All 7 projections is the recommended default.",
        "lora",
        "Target modules",
        choices=ALL_PROJECTIONS,
        advanced=True,
    )
    # ---- schedule: how long and how fast ----
    max_steps: int = _f(
        0,
        "Optimizer steps. 0 = the suggested number: the epochs below of your pairs, capped on a CPU "
        "at about 10 minutes of training (the plan line says how many).",
        "schedule",
        "Steps (0 = suggested)",
        min=0,
        max=100000,
        plan=True,
    )
    epochs: float = _f(
        2.5,
        "With steps at 0: how many times the suggested steps show the model each training pair (on a CPU, no "
        "more than about 10 minutes of training buy).",
        "schedule",
        "Epochs (when steps are 0)",
        min=0.1,
        max=1000.0,
        advanced=True,
        plan=True,
    )
    learning_rate: float = _f(
        2e-4,
        "Step size. The recipe's 2e-4 suits a 7B model; small models learn faster at 1e-3 (the default for "
        "them). Lower it if the loss jumps around.",
        "schedule",
        "Learning rate",
        min=1e-7,
        max=1e-2,
        advanced=True,
    )
    batch_size: int = _f(
        2,
        "Pairs per micro-batch. Higher is faster on a GPU if memory allows.",
        "schedule",
        "Batch size",
        min=1,
        max=1024,
        advanced=True,
        plan=True,
    )
    grad_accum: int = _f(
        4,
        "Micro-batches per optimizer step. Pairs per step = batch size x this.",
        "schedule",
        "Gradient accumulation",
        min=1,
        max=1024,
        advanced=True,
        plan=True,
    )
    warmup_steps: int = _f(
        5,
        "Steps at the start with a ramping learning rate. 5-10% of the steps (capped below the "
        "number of steps).",
        "schedule",
        "Warm-up steps",
        min=0,
        max=100000,
        advanced=True,
    )
    max_seq_length: int = _f(
        2048,
        "Longest prompt+answer in tokens; longer rows are cut. 512-4096 typical.",
        "schedule",
        "Max sequence length",
        min=32,
        max=131072,
        advanced=True,
        plan=True,
    )
    packing: bool | None = _f(
        None,
        "Pack several short pairs into one sequence: much faster on a GPU, no "
        "effect on what is learned. Default: on with a GPU, off on CPU.",
        "schedule",
        "Packing",
        advanced=True,
        plan=True,
    )
    batch_tokens: int = _f(
        0,
        "With packing on a GPU: tokens per micro-batch (pairs packed end to end); replaces "
        "the batch size there. 0 = auto: 4,096-16,384 chosen from the data so an epoch has about "
        "20 steps. Lower it if the GPU runs out of memory.",
        "schedule",
        "Tokens per micro-batch (GPU, packing)",
        min=0,
        max=1048576,
        advanced=True,
        plan=True,
    )
    answer_only_loss: bool = _f(
        True,
        "Train on the SQL answer only, not on the prompt (recommended).",
        "schedule",
        "Loss on the SQL answer only",
        advanced=True,
    )
    seed: int = _f(
        3407,
        "Random seed, for repeatable runs (also the seed of the held-out split).",
        "schedule",
        "Seed",
        min=0,
        max=2**31 - 1,
        advanced=True,
    )
    checkpoint_every: int = _f(
        50,
        "Save a checkpoint every N steps (the last 2 are kept), so a run killed by a crash "
        "or a restart can resume from there. 0 = no checkpoints.",
        "schedule",
        "Checkpoint every N steps",
        min=0,
        max=100000,
        advanced=True,
    )
    keep_checkpoints: bool = _f(
        False,
        "Keep every checkpoint when the run completes, to score them and make the best step the adapter "
        "(Runs tab: 'Score its checkpoints'). Off: the last 2, deleted once the adapter is saved.",
        "schedule",
        "Keep every checkpoint (to score them)",
        advanced=True,
    )
    score_checkpoints: bool = _f(
        False,
        "When the run has been evaluated, score every checkpoint on the same held-out rows and make the most "
        "accurate step the adapter (keeps every checkpoint; a sweep's option). The step is chosen on the rows it "
        "is scored on: the leaderboard names it.",
        "schedule",
        "Make the best checkpoint the adapter",
        advanced=True,
    )
    logging_steps: int = _f(1, "Log loss every N steps.", "schedule", min=1, max=100000)
    # ---- reinforce: GRPO after the supervised steps, rewarded by the database ----
    grpo_steps: int = _f(
        0,
        "After the supervised steps, reinforce with the database (GRPO): each step the adapter answers a "
        "training question several times, every answer runs on the database, and answers that return the "
        "right rows are made more likely (reward 1 for the right result, 0.1 for SQL that runs, 0 otherwise). "
        "0 = no reinforcement. Slow on a CPU (each answer is generated, about a minute a step).",
        "reinforce",
        "Then reinforce with the database (GRPO): steps",
        min=0,
        max=100000,
        advanced=True,
        plan=True,
    )
    grpo_generations: int = _f(
        4,
        "GRPO: answers drawn per question in a step; the rewards are compared within them.",
        "reinforce",
        "GRPO: answers per question",
        min=2,
        max=64,
        advanced=True,
        plan=True,
    )
    grpo_learning_rate: float = _f(
        1e-5,
        "GRPO: the step size of the reinforcement phase (much smaller than the supervised one: it only "
        "reweighs what the adapter already writes).",
        "reinforce",
        "GRPO: learning rate",
        min=1e-8,
        max=1e-2,
        advanced=True,
    )
    # ---- evaluation: the held-out questions and what is scored on them ----
    eval_fraction: float = _f(
        0.1,
        "Share of pairs held out (never trained on) to measure eval loss and SQL "
        "execution accuracy. 0.1 = 10%; 0 = train on everything.",
        "evaluation",
        "Eval split",
        min=0.0,
        max=0.5,
        advanced=True,
        plan=True,
    )
    evaluate_after: bool = _f(
        False,
        "When training ends, run the held-out questions through the base model and "
        "the adapter, execute their SQL and log the accuracies to the run.",
        "evaluation",
        "Evaluate when training ends",
        advanced=True,
        plan=True,
    )
    candidates: int = _f(
        0,
        "Candidates per answer when evaluating: 1 = the greedy answer alone; N > 1 = the greedy answer and N-1 "
        "sampled ones (temperature 0.8, top-p 0.95), each run on the database, and the result most of them give "
        "wins (a 'with voting' line beside 'as generated', for the base model and the adapter alike). 0 = this "
        "machine's default: 8 with a GPU, 1 on a CPU (8 candidates cost a CPU several times a greedy answer).",
        "evaluation",
        "Candidates per answer (voting)",
        min=0,
        max=32,
        advanced=True,
        plan=True,
    )
    eval_data_path: str = _f(
        "",
        "Rows to execute the evaluation on: a SQL script of INSERTs, a folder with one CSV "
        "per table, or a SQLite file. Default: the sample data with the sample schema.",
        "evaluation",
    )
    # ---- tracking: where the run is recorded ----
    experiment: str = _f("text2sql-finetune", "The MLflow experiment the run goes to.", "tracking")
    parent_run_id: str = _f(
        "",
        "The sweep's MLflow run this run belongs to (a child run of it); empty: a run of its own.",
        "tracking",
    )
    run_name: str = _f("", "A name for the run (optional).", "tracking", "Run name (optional)", advanced=True)

    def __post_init__(self):
        problems = self.bound_problems()
        if problems:
            raise ConfigError(problems)

    def problems(self) -> dict[str, str]:
        """What keeps this config from starting a run (beyond its bounds, checked when it was made)."""
        problems: dict[str, str] = {}
        if not self.model.strip():
            problems["model"] = "choose a model"
        if not self.data_path.strip():
            problems["data_path"] = "choose a file of question/SQL pairs"
        try:
            system_prompt(self.system_template, self.dialect, "")
        except TemplateError as e:
            problems["system_template"] = str(e)
        for name in ("run_name", "experiment"):  # they become MLflow names and, on export, file names
            value = getattr(self, name)
            if value or name == "experiment":
                try:
                    check_name(value)
                except ValueError as e:
                    problems[name] = str(e)
        return problems

    def database_label(self) -> str:
        """The database's name in the prompt: the setting, else the connected database's own name (file stem,
        DuckDB catalog, PostgreSQL database), else the schema (or data) file's name as the person knows it (an
        upload is stored under a generated name)."""
        if self.database_name.strip():
            return self.database_name.strip()
        if self.database.strip():
            return database_name_of(self.database)
        named = self.schema_path or self.data_name or self.data_path
        if Path(named).name in (SAMPLE_SCHEMA.name, SAMPLE_PAIRS.name):
            return SAMPLE_DATABASE
        stem = Path(named or "database").stem
        return stem.removesuffix("_schema").removesuffix("_pairs") or "database"

    def prompt_format(self, schema_text: str) -> PromptFormat:
        """How this run's pairs become prompts (schema_text: the compact CREATE TABLEs of the whole database)."""
        template = default_template_for(self.schema_in_prompt, self.system_template)
        return PromptFormat(template, self.dialect, schema_text, self.schema_in_prompt, self.database_label())


def default_value(name: str):
    return field_default(TrainConfig, name)


def validate_config(cfg: TrainConfig) -> dict[str, str]:
    """Problems per field name, in plain words: the bounds (checked when the config was made; checked again for a
    config changed since) and what a start needs. Empty when the config can start."""
    return {**cfg.bound_problems(), **cfg.problems()}
