"""Connect a database once, from one source string, for validation, generation, evaluation and the playground.

    db = connect("shop.sqlite")                    # a SQLite file, opened read-only
    db = connect("warehouse.duckdb")               # a DuckDB file, opened read-only
    db = connect("exports/")                       # a folder of CSV/Parquet files: one table per file
    db = connect("orders.csv")                     # one CSV or Parquet file: one table
    db = connect("postgresql://user:pw@localhost/shop")   # read-only transactions, statement timeout
    db = connect("schema.sql")                     # DDL (+ INSERTs) in an embedded DuckDB
    db = connect("sample")                         # the sample database (assets/sample_schema.sql + sample_data.sql)

The source string is what a training run records (TrainConfig.database), so the evaluation after training, the
Evaluate tab and `python -m core evaluate --run` reconnect to the same database; `describe_source` (core.db.source)
is the form that may be shown or logged (the password masked). Files are told apart by their first bytes, not their
names. `open_database` opens a target the same way for the evaluation and the benchmarks: 'duckdb' (built from DDL
and rows), a postgresql:// URL or a SQLite file.

This module only picks; each engine lives in one module: core.db.engine_sqlite (a file, or a script SQLite accepts
where DuckDB refuses it), core.db.engine_duckdb (built from DDL, a DuckDB file, CSV/Parquet files) and
core.db.engine_postgres.

Whatever a hostile source does (an empty, truncated or damaged file, a file of another program, a DuckDB file of
another version, a database locked by a writer, a wrong password, an unreachable host, a catalog query past the
timeout), the user gets one SourceError sentence that names the source and says what to do: `connect` reads the
database once right away (`Database.probe`), and core.db.source's `reading` turns the library's own exceptions
(sqlite3, duckdb, psycopg) of the studio's reads into that sentence (introspection reads through it too). Nothing is
ever written.
"""

import re
import sqlite3
from pathlib import Path

from core.db.engine_duckdb import DuckDatabase, DuckFileDatabase, FileTablesDatabase
from core.db.engine_postgres import PostgresDatabase
from core.db.engine_sqlite import SqliteDatabase, SqliteScriptDatabase
from core.db.execute import DEFAULT_ROW_CAP, DEFAULT_TIMEOUT_S, Database
from core.db.source import SourceError, is_postgres_url, reading
from core.paths import SAMPLE_DATA, SAMPLE_SCHEMA

SAMPLE = "sample"
PREFLIGHT_TIMEOUT_S = (
    2.0  # per query: a connected database answers the studio's own checks quickly or not at all
)
TABLE_FILES = (".csv", ".tsv", ".parquet", ".pq")
SQLITE_MAGIC = b"SQLite format 3\x00"
DUCKDB_MAGIC = b"DUCK"  # at byte 8 of a DuckDB file
DATABASE_FILES = (".sqlite", ".sqlite3", ".db", ".db3", ".s3db", ".sl3", ".duckdb", ".ddb")


def connect(source: str, timeout_s: float = PREFLIGHT_TIMEOUT_S, ddl_dialect: str = "postgres") -> Database:
    """Open a database from a source string (see the module doc) and read it once. Raises SourceError with a clear
    message."""
    source = (source or "").strip()
    if not source:
        raise SourceError(
            "No database given. Pick the sample database, a SQLite/DuckDB file, CSV/Parquet files or "
            "a postgresql:// URL."
        )
    kw = {"timeout_s": timeout_s}
    if source == SAMPLE:
        db = DuckDatabase(
            SAMPLE_SCHEMA.read_text(encoding="utf-8"), SAMPLE_DATA, ddl_dialect="postgres", **kw
        )
        db.label = "the sample database (embedded DuckDB)"
    elif is_postgres_url(source):
        try:
            db = PostgresDatabase(source, **kw)
        except ConnectionError as e:  # its message names the URL (password masked) and what to check
            raise SourceError(f"{e}.") from None
    else:
        db = _open_path(Path(source).expanduser(), ddl_dialect, kw)
    db.source = source
    with reading(db, "opening it"):
        db.probe()
    return db


def _open_path(path: Path, ddl_dialect: str, kw: dict) -> Database:
    shown = path.name or str(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in TABLE_FILES)
        if not files:
            raise SourceError(
                f"{shown}: the folder has no CSV or Parquet files. Put one file per table in it."
            )
        return FileTablesDatabase(files, **kw)
    if not path.is_file():
        raise SourceError(f"{shown}: no such file or folder.")
    if path.suffix.lower() in TABLE_FILES:
        return FileTablesDatabase([path], **kw)
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as e:
        raise SourceError(f"{shown}: cannot be opened ({e.strerror or type(e).__name__}).") from None
    if head.startswith(SQLITE_MAGIC):
        db = SqliteDatabase(path, **kw)
        db.label = f"SQLite file {shown}"
        return db
    if head[8:12] == DUCKDB_MAGIC:
        return DuckFileDatabase(path, **kw)
    if not head:
        raise SourceError(
            f"{shown}: the file is empty (0 bytes). Pick the database file itself: a copy or upload "
            "may have failed."
        )
    try:
        script = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        script = None
    if script is None or not re.search(r"(?i)\bcreate\s+table\b", script):
        raise SourceError(_not_a_database(shown, path.suffix.lower(), script is None))
    try:
        db = DuckDatabase(script, None, ddl_dialect=ddl_dialect, **kw)
    except Exception as e:  # noqa: BLE001 - DDL of any dialect: its own message says what is wrong
        db = _sqlite_script(script, kw)
        if db is None:
            raise SourceError(
                f"{shown}: the SQL script could not be loaded ({str(e).splitlines()[0][:200]}). "
                "Check the statement named, or pick the dialect it is written in."
            ) from None
        db.label = f"SQL script {shown} (embedded SQLite: DuckDB refused it, SQLite accepts it)"
        return db
    db.label = f"SQL script {shown} (embedded DuckDB)"
    return db


def _sqlite_script(script: str, kw: dict) -> Database | None:
    """The script in an in-memory SQLite, or None when SQLite refuses it too (DuckDB's message is the one shown)."""
    try:
        return SqliteScriptDatabase(script, **kw)
    except sqlite3.Error:
        return None


def _not_a_database(shown: str, suffix: str, binary: bool) -> str:
    if suffix in DATABASE_FILES:  # named like a database: say what its first bytes are not
        return (
            f"{shown}: not a SQLite or DuckDB database (the file does not start with either's header). Pick "
            "the database file itself: this may be a file of another program, or a copy that was damaged."
        )
    if binary:
        return (
            f"{shown}: neither a SQLite or DuckDB database nor a UTF-8 SQL script. Pick a SQLite or DuckDB "
            "file, CSV/Parquet files or a .sql script."
        )
    return (
        f"{shown}: not a database file, and as a SQL script it has no CREATE TABLE statement. Pick a SQLite or "
        "DuckDB file, CSV/Parquet files or a .sql script with the CREATE TABLE statements."
    )


def open_database(
    target: str = "duckdb",
    ddl: str = "",
    data: str | Path | None = None,
    dialect: str = "postgres",
    timeout_s: float = DEFAULT_TIMEOUT_S,
    row_cap: int = DEFAULT_ROW_CAP,
) -> Database:
    """'duckdb' (built from ddl + data), a postgresql:// URL, or a path to a SQLite file."""
    kw = dict(timeout_s=timeout_s, row_cap=row_cap)
    if target.startswith(("postgresql://", "postgres://")):
        return PostgresDatabase(target, **kw)
    if target not in ("", "duckdb"):
        if not Path(target).is_file():
            raise FileNotFoundError(f"No database file at {target}")
        return SqliteDatabase(target, **kw)
    return DuckDatabase(ddl, data, ddl_dialect=dialect, **kw)
