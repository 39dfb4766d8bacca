"""A run's data as the trainer sees it: the pairs, the schema and its compact prompt text, and the validation report
(token counts with the model's tokenizer when one is given)."""

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


def load_dataset(cfg: TrainConfig, tokenizer=None):
    """(pairs, schema, schema_text, report) for a config. Raises DataError/SchemaError with clear messages."""
    pairs = load_pairs(cfg.data_path)
    if cfg.schema_path:
        schema = load_schema_file(cfg.schema_path, cfg.dialect)
    else:
        schema = parse_schema(cfg.schema_text, cfg.dialect) if cfg.schema_text.strip() else Schema()
    schema_text = schema_ddl_only(schema, cfg.dialect)
    counter = count_tokens_fn(tokenizer, fmt=cfg.prompt_format(schema_text)) if tokenizer else None
    report = validate_pairs(pairs, schema, cfg.dialect, counter, cfg.max_seq_length)
    return pairs, schema, schema_text, report
