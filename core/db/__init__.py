"""Databases: execute SQL read-only (embedded DuckDB, a SQLite file, PostgreSQL) with a timeout and a row cap.

Model-written and user-given SQL runs here and nowhere else. It may use core.data (SQL parsing, the write-statement
guard), core.config/core.runstate and the bottom modules (paths, redact, compute).
"""

from core.db.execute import (
    CORRECT,
    NOT_EXECUTED,
    WRONG,
    Database,
    QueryResult,
    open_database,
)

__all__ = ["CORRECT", "NOT_EXECUTED", "WRONG", "Database", "QueryResult", "open_database"]
