"""A run's data, built one way for the Data tab, the CLI and the worker: load the pairs, validate them (token counts
with the model's tokenizer), pre-flight every SQL on the connected database (through this process's database session
and its caches), then split them and fix the prompt record every prompt of the run is rendered from.

    built = build_dataset(cfg, tokenizer)           # pairs, schema, compact schema text, report
    run = prepare_run_data(cfg, tokenizer)          # + train / held-out rows and the prompt record
    save_validation(folder, cfg, built.report)      # the studio hands the Data tab's validation to the worker,
    prepare_run_data(cfg, tokenizer, folder)        # which uses it when the data and the settings are the same

So a run validates once: in the studio (the Data tab) or, for the command line, in the worker; and each process loads
the pairs once.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from core.config import TrainConfig
from core.data import (
    Pair,
    Report,
    Schema,
    as_prompt_completion,
    count_tokens_fn,
    load_pairs,
    load_schema_file,
    parse_schema,
    schema_ddl_only,
    split_pairs,
    trainable_pairs,
    validate_pairs,
)
from core.db import introspect, merge_preflight, preflight
from core.db.session import database, preflight_cache
from core.db.your_questions import database_of, leave_out
from core.prompt_record import PromptRecord
from core.redact import redact

VALIDATION_FILE = "validation.json"  # in a job folder: the studio's report, for the worker to trust
# The settings a validation depends on: the same data validated with these gives the same report.
VALIDATED_WITH = (
    "data_path",
    "schema_path",
    "schema_text",
    "dialect",
    "database",
    "system_template",
    "schema_in_prompt",
    "database_name",
    "max_seq_length",
    "model",
)


@dataclass
class BuiltDataset:
    pairs: list[Pair]
    schema: Schema
    schema_text: str  # the compact CREATE TABLEs the prompts hold
    report: Report


def build_dataset(
    cfg: TrainConfig, tokenizer=None, pairs: list[Pair] | None = None, checking=None, running=None
) -> BuiltDataset:
    """Load (unless `pairs` are given), validate and pre-flight. `checking`/`running`: (done, total) progress
    callbacks of the SQL checks and of the pre-flight. Raises DataError/SchemaError/SourceError with clear messages."""
    pairs = pairs if pairs is not None else load_pairs(cfg.data_path, name=cfg.data_name or None)
    db = database(cfg.database, ddl_dialect=cfg.dialect) if cfg.database else None
    schema = _schema(cfg, db)
    schema_text = schema_ddl_only(schema, cfg.dialect)
    counter = count_tokens_fn(tokenizer, fmt=cfg.prompt_format(schema_text)) if tokenizer else None
    report = validate_pairs(pairs, schema, cfg.dialect, counter, cfg.max_seq_length, checking)
    if db is not None:  # what runs on the database is never an error; what fails there is
        outcomes = preflight(pairs, db, cfg.dialect, running, preflight_cache(cfg.database))
        report = merge_preflight(report, pairs, outcomes, db.label)
    return BuiltDataset(pairs, schema, schema_text, report)


def _schema(cfg: TrainConfig, db) -> Schema:
    """The schema file, else the schema text, else (with a connected database) the database's own tables."""
    if cfg.schema_path:
        return load_schema_file(cfg.schema_path, cfg.dialect)
    if cfg.schema_text.strip():
        return parse_schema(cfg.schema_text, cfg.dialect, name="schema")
    return introspect(db).to_schema(cfg.dialect) if db is not None else Schema()


def load_dataset(cfg: TrainConfig, tokenizer=None):
    """(pairs, schema, schema_text, report) for a config (build_dataset's parts)."""
    built = build_dataset(cfg, tokenizer)
    return built.pairs, built.schema, built.schema_text, built.report


@dataclass
class RunData:
    pairs: list[Pair]  # every row of the file
    report: Report
    train: list[Pair]
    held_out: list[Pair]
    record: (
        PromptRecord  # the one prompt of the run: training renders it, evaluation and exports read it back
    )

    def rows(self, pairs: list[Pair]) -> list[dict]:
        """prompt/completion rows, as TRL trains on them."""
        fmt = self.record.format
        return [as_prompt_completion(fmt.messages(p)) for p in pairs]


def planned_split(
    pairs: list[Pair], report: Report | None, exclude_errors: bool, fraction: float, seed: int = 3407
) -> tuple[list[Pair], list[Pair]]:
    """(train, held out): exactly the rows a run of these pairs will train on and score, for the plan line."""
    usable = trainable_pairs(pairs, report) if exclude_errors and report else pairs
    return split_pairs(usable, fraction, seed) if fraction else (list(usable), [])


def _fingerprint(cfg: TrainConfig) -> str:
    """The data file's bytes and the settings a validation depends on (a password in a URL masked)."""
    digest = hashlib.sha256(Path(cfg.data_path).read_bytes())
    digest.update(
        json.dumps({k: redact(str(getattr(cfg, k))) for k in VALIDATED_WITH}, sort_keys=True).encode()
    )
    return digest.hexdigest()


def save_validation(folder: Path, cfg: TrainConfig, report: Report) -> None:
    """The studio's validation of a run's data, for its worker (written with the job folder)."""
    data = {"fingerprint": _fingerprint(cfg), "report": report.to_dict(whole=True)}
    (Path(folder) / VALIDATION_FILE).write_text(json.dumps(data), encoding="utf-8")


def _trusted(folder: Path | None, cfg: TrainConfig) -> Report | None:
    path = Path(folder) / VALIDATION_FILE if folder else None
    if path is None or not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Report.from_dict(data["report"]) if data["fingerprint"] == _fingerprint(cfg) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None  # unreadable or from older code: validate again


def prepare_run_data(cfg: TrainConfig, tokenizer=None, folder: Path | None = None) -> RunData:
    """Load and validate the pairs (or trust the validation the studio left in the job `folder`, when the data and
    the settings are those it validated), drop the error rows (unless the config keeps them), split, and fix the
    prompt. Raises DataError/SchemaError, or ValueError when no row can train."""
    trusted = _trusted(folder, cfg)
    if trusted is not None:
        schema = _schema(cfg, database(cfg.database, ddl_dialect=cfg.dialect) if cfg.database else None)
        built = BuiltDataset(load_pairs(cfg.data_path), schema, schema_ddl_only(schema, cfg.dialect), trusted)
    else:
        built = build_dataset(cfg, tokenizer)
    train, held_out = planned_split(
        built.pairs, built.report, cfg.exclude_error_rows, cfg.eval_fraction, cfg.seed
    )
    train, _ = leave_out(
        train, database_of(cfg)
    )  # the person's own evaluation questions are never trained on
    if not train and not held_out:
        raise ValueError(
            f"No trainable rows: all {len(built.pairs)} rows have errors. Fix them (see the validation "
            "report) and start again."
        )
    return RunData(built.pairs, built.report, train, held_out, PromptRecord.for_run(cfg, built.schema_text))
