"""Databases: connect once (a SQLite or DuckDB file, CSV/Parquet files, PostgreSQL, DDL + rows, the sample), look
inside (tables, keys, example values), execute SQL read-only with a timeout and a row cap, run every pair's SQL
before training (pre-flight), keep the process's connections (the session) and the person's own questions.
Generating pairs from a database is a stage of its own above this one (core.pairgen).

Model-written and user-given SQL runs here and nowhere else. It may use core.data (SQL parsing, the write-statement
guard, the validation report), core.config/core.runstate and the bottom modules (paths, redact, compute).
"""

from core.db.connect import SAMPLE, connect, open_database
from core.db.execute import (
    CORRECT,
    NOT_EXECUTED,
    WRONG,
    Database,
    QueryResult,
)
from core.db.introspect import introspect
from core.db.preflight import Outcome, merge_preflight, preflight, preflight_summary
from core.db.schema_info import ForeignKey, SchemaInfo
from core.db.source import SourceError, describe_source, is_postgres_url, split_password, with_password

__all__ = [
    "CORRECT",
    "NOT_EXECUTED",
    "SAMPLE",
    "WRONG",
    "Database",
    "ForeignKey",
    "Outcome",
    "QueryResult",
    "SchemaInfo",
    "SourceError",
    "connect",
    "describe_source",
    "introspect",
    "is_postgres_url",
    "split_password",
    "with_password",
    "merge_preflight",
    "open_database",
    "preflight",
    "preflight_summary",
]
