"""A run's data as the trainer sees it: the pairs, the schema and its compact prompt text, and the validation report
(token counts with the model's tokenizer when one is given; with a connected database, every pair's SQL run on it)."""

from core.config import TrainConfig
from core.data import (
    Schema,
    count_tokens_fn,
    load_pairs,
    load_schema_file,
    parse_schema,
    schema_ddl_only,
    validate_pairs,
)
from core.db import connect, introspect, merge_preflight, preflight


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
