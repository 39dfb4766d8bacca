"""Training settings as one documented dataclass, TrainConfig. The help texts also feed the UI's hints.

`validate_config` returns plain-language problems per field (an empty dict when all is well), so the
CLI and the UI can show them next to the fields before anything starts.

Its fields are declared in three steps, in the order the JSON of a run and the Train tab's groups have them: what
the run trains on and from (core.config.inputs: data, model), how it trains (core.config.recipe: lora, schedule,
reinforce), then here what is scored and where the run is recorded (evaluation, tracking) and what a start checks.
The behaviour every documented setting shares (bounds, form values, help, JSON) is core.settings.Settings; the
defaults and the recommended settings are in core.defaults.
"""

from dataclasses import dataclass
from pathlib import Path

from core.config.recipe import Recipe
from core.data import PromptFormat, TemplateError, system_prompt
from core.defaults import database_name_of, default_template_for
from core.paths import SAMPLE_DATABASE, SAMPLE_PAIRS, SAMPLE_SCHEMA, check_name
from core.settings import field_default, setting


class ConfigError(ValueError):
    """The config has problems; `problems` maps field names to messages in plain words."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))


@dataclass
class TrainConfig(Recipe):
    """One training run's settings, in documented groups; an instance with a value out of its bounds cannot be made
    (ConfigError names every problem). What a start needs beyond that (a data file, a model) is `problems()`."""

    # ---- evaluation: the held-out questions and what is scored on them ----
    eval_fraction: float = setting(
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
    evaluate_after: bool = setting(
        False,
        "When training ends, run the held-out questions through the base model and "
        "the adapter, execute their SQL and log the accuracies to the run.",
        "evaluation",
        "Evaluate when training ends",
        advanced=True,
        plan=True,
    )
    candidates: int = setting(
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
    eval_data_path: str = setting(
        "",
        "Rows to execute the evaluation on: a SQL script of INSERTs, a folder with one CSV "
        "per table, or a SQLite file. Default: the sample data with the sample schema.",
        "evaluation",
    )
    # ---- tracking: where the run is recorded ----
    experiment: str = setting("text2sql-finetune", "The MLflow experiment the run goes to.", "tracking")
    parent_run_id: str = setting(
        "",
        "The sweep's MLflow run this run belongs to (a child run of it); empty: a run of its own.",
        "tracking",
    )
    run_name: str = setting(
        "", "A name for the run (optional).", "tracking", "Run name (optional)", advanced=True
    )

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
