"""The `python -m core train` line that reproduces a run's settings (the Train tab's "Show the command"): the data, the
database, and a flag for each setting that differs from what the command line would choose by itself for that model on
this machine (core.cli.flags: the recommended settings, then the defaults). Built from the parser's own flags, so a new
flag needs nothing here.

    command_for(cfg, gpu=False)   # 'python -m core train pairs.jsonl --db shop.sqlite --lr 0.002 --steps 120'
"""

import argparse
import shlex

from core.cli.flags import FLAG_FIELDS
from core.cli.parser import build_parser
from core.config import TrainConfig, default_value
from core.redact import redact
from core.train import recommended_for

# Where the data comes from is said first (the data file, the database or the schema), and once.
SOURCE_FIELDS = {"data", "database", "schema", "dialect", "model", "help"}


def _train_parser() -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["train"]


def _flag(action, value) -> list[str]:
    name = action.option_strings[0]
    if isinstance(action, argparse.BooleanOptionalAction):
        return [name if value else "--no-" + name.removeprefix("--")]
    if isinstance(action, argparse._StoreTrueAction):
        return [name] if value else []
    if isinstance(value, float):
        value = f"{value:g}"
    return [name, shlex.quote(str(value))]


def command_for(cfg: TrainConfig, gpu: bool) -> str:
    """The command line of this config (a database password masked: type it when you run the line)."""
    chosen = {**recommended_for(cfg.model, gpu)}
    words = ["python -m core train", shlex.quote(cfg.data_path or "PAIRS.jsonl")]
    if cfg.database:
        words += ["--db", shlex.quote(redact(cfg.database))]
    elif cfg.schema_path:
        words += ["--schema", shlex.quote(cfg.schema_path)]
    if cfg.model != default_value("model"):
        words += ["--model", shlex.quote(cfg.model)]
    flagged = set()
    for action in _train_parser()._actions:
        if not action.option_strings or action.dest in SOURCE_FIELDS:
            continue
        name = FLAG_FIELDS.get(action.dest, action.dest)
        if name not in TrainConfig.__dataclass_fields__:
            continue
        flagged.add(name)
        value = getattr(cfg, name)
        if value == chosen.get(name, default_value(name)):
            continue
        words += _flag(action, value)
    unsaid = [
        f.metadata["label"]
        for f in TrainConfig.form_fields()
        if f.name not in flagged | {"model"}
        and getattr(cfg, f.name) != chosen.get(f.name, default_value(f.name))
    ]
    if unsaid:  # the form can say more than the command line: say what the line leaves out
        words.append(f"  # and, in the form only: {', '.join(unsaid)}")
    return " ".join(words)
