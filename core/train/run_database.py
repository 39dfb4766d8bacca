"""The database a run's SQL executes on: the run's own connected database, else the DuckDB built from its schema and
rows. The evaluation runs the models' answers there, and the reinforcement phase (core.train.reinforce) its rewards.
"""

from pathlib import Path

from core.config import TrainConfig
from core.db import connect, open_database
from core.paths import SAMPLE_DATA, SAMPLE_SCHEMA
from core.redact import MASK


def database_for(cfg: TrainConfig, target: str | None = None, data: str | None = None):
    """The database a run's SQL executes on: `target` when given (any source core.db.connect opens, or 'duckdb' for
    the DuckDB built from the schema plus `data`), else the run's own connected database (cfg.database), else the
    DuckDB built from the run's schema and rows (the sample data for the sample schema)."""
    source = target or cfg.database
    if source and source != "duckdb":
        if MASK in source:
            raise ValueError(
                "This run's database is a PostgreSQL URL whose password was not stored. Give the URL "
                "again (the Evaluate tab's PostgreSQL field, or --db postgresql://...)."
            )
        return connect(source, ddl_dialect=cfg.dialect)
    return open_database("duckdb", schema_ddl_for(cfg), data or default_data_for(cfg), cfg.dialect)


def default_data_for(cfg: TrainConfig) -> str | None:
    """The rows to execute on: the config's data script, or the sample data for the sample schema."""
    if cfg.eval_data_path:
        return cfg.eval_data_path
    sample_ddl = SAMPLE_SCHEMA.read_text(encoding="utf-8").strip()
    uses_sample = (
        cfg.schema_path and str(cfg.schema_path).endswith(SAMPLE_SCHEMA.name)
    ) or cfg.schema_text.strip() == sample_ddl
    return str(SAMPLE_DATA) if uses_sample else None


def schema_ddl_for(cfg: TrainConfig) -> str:
    return Path(cfg.schema_path).read_text(encoding="utf-8") if cfg.schema_path else cfg.schema_text
