"""From the command line's flags to a TrainConfig: the flags given, then the settings recommended for the model on
this machine (core.defaults), then the defaults. Every command that trains, validates, previews or evaluates an
adapter folder builds its config here.
"""

from dataclasses import fields

from core.config import TrainConfig, default_value
from core.db import connect
from core.train import gpu_available, recommended_for

# CLI flag -> config field, for the flags whose name differs from the field
FLAG_FIELDS = {
    "steps": "max_steps",
    "lr": "learning_rate",
    "grpo_lr": "grpo_learning_rate",
    "model": "model",
    "schema": "schema_path",
    "database": "database",
}


def _config(args) -> TrainConfig:
    """The flags given, then the settings recommended for the model on this machine, then the defaults."""

    database = getattr(args, "database", None) or ""
    schema = args.schema or ("" if database else getattr(args, "default_schema", ""))
    values = {
        "data_path": args.data,
        "schema_path": schema,
        "dialect": args.dialect or _dialect_of(database),
        "database": database,
    }
    for f in fields(TrainConfig):
        flag = next((k for k, v in FLAG_FIELDS.items() if v == f.name), f.name)
        value = getattr(args, flag, None)
        if value is not None and f.name not in values:
            values[f.name] = value
    model = values.get("model") or default_value("model")
    if values.get("evaluate_after") is False and getattr(args, "eval_fraction", None) is None:
        values["eval_fraction"] = 0.0  # --no-evaluate: nothing will be scored, so every pair trains
    for name, value in recommended_for(model, gpu_available()).items():
        values.setdefault(name, value)
    return TrainConfig(**values)


def _dialect_of(database: str) -> str:
    """The connected database's own dialect (the default when --dialect is not given), else postgres."""
    if not database:
        return "postgres"

    return connect(database).dialect
