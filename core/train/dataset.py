"""A run's data as the trainer sees it: the pairs, the schema and its compact prompt text, and the validation report
(token counts with the model's tokenizer when one is given; with a connected database, every pair's SQL run on it);
then the rows that train, the rows held out, and the prompt record every prompt of the run is rendered from."""

from dataclasses import dataclass

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
from core.db import connect, introspect, merge_preflight, preflight
from core.db.your_questions import database_of, leave_out
from core.prompt_record import PromptRecord


def load_dataset(cfg: TrainConfig, tokenizer=None):
    """(pairs, schema, schema_text, report) for a config. Raises DataError/SchemaError with clear messages."""
    pairs = load_pairs(cfg.data_path)
    db = connect(cfg.database, ddl_dialect=cfg.dialect) if cfg.database else None
    if cfg.schema_path:
        schema = load_schema_file(cfg.schema_path, cfg.dialect)
    elif cfg.schema_text.strip():
        schema = parse_schema(cfg.schema_text, cfg.dialect)
    else:  # with a connected database, the schema comes from the database itself
        schema = introspect(db).to_schema(cfg.dialect) if db is not None else Schema()
    schema_text = schema_ddl_only(schema, cfg.dialect)
    counter = count_tokens_fn(tokenizer, fmt=cfg.prompt_format(schema_text)) if tokenizer else None
    report = validate_pairs(pairs, schema, cfg.dialect, counter, cfg.max_seq_length)
    if db is not None:  # what runs on the database is never an error; what fails there is
        report = merge_preflight(report, pairs, preflight(pairs, db, cfg.dialect))
    return pairs, schema, schema_text, report


@dataclass
class RunData:
    pairs: list[Pair]  # every row of the file
    report: Report
    train: list[Pair]
    held_out: list[Pair]
    record: PromptRecord  # the one prompt of the run: training renders it, evaluation and exports read it back

    def rows(self, pairs: list[Pair]) -> list[dict]:
        """prompt/completion rows, as TRL trains on them."""
        fmt = self.record.format
        return [as_prompt_completion(fmt.messages(p)) for p in pairs]


def planned_split(pairs: list[Pair], report: Report | None, exclude_errors: bool, fraction: float,
                  seed: int = 3407) -> tuple[list[Pair], list[Pair]]:
    """(train, held out): exactly the rows a run of these pairs will train on and score, for the plan line."""
    usable = trainable_pairs(pairs, report) if exclude_errors and report else pairs
    return split_pairs(usable, fraction, seed) if fraction else (list(usable), [])


def prepare_run_data(cfg: TrainConfig, tokenizer=None) -> RunData:
    """Load and validate the pairs, drop the error rows (unless the config keeps them), split, and fix the prompt.
    Raises DataError/SchemaError, or ValueError when no row can train."""
    pairs, _, schema_text, report = load_dataset(cfg, tokenizer)
    train, held_out = planned_split(pairs, report, cfg.exclude_error_rows, cfg.eval_fraction, cfg.seed)
    train, _ = leave_out(train, database_of(cfg))  # the person's own evaluation questions are never trained on
    if not train and not held_out:
        raise ValueError(f"No trainable rows: all {len(pairs)} rows have errors. Fix them (see the validation "
                         "report) and start again.")
    return RunData(pairs, report, train, held_out, PromptRecord.for_run(cfg, schema_text))
