"""Connect a database once, from one source string, for validation, generation, evaluation and the playground.

    db = connect("shop.sqlite")                    # a SQLite file, opened read-only
    db = connect("warehouse.duckdb")               # a DuckDB file, opened read-only
    db = connect("exports/")                       # a folder of CSV/Parquet files: one table per file
    db = connect("orders.csv")                     # one CSV or Parquet file: one table
    db = connect("postgresql://user:pw@localhost/shop")   # read-only transactions, statement timeout
    db = connect("schema.sql")                     # DDL (+ INSERTs) in an embedded DuckDB
    db = connect("sample")                         # the sample database (assets/sample_schema.sql + sample_data.sql)

The source string is what a training run records (TrainConfig.database), so the evaluation after training, the
Evaluate tab and `python -m core evaluate --run` reconnect to the same database; `describe_source` is the form
that may be shown or logged (the password masked). Files are told apart by their first bytes, not their names.

Whatever a hostile source does (an empty, truncated or damaged file, a file of another program, a DuckDB file of
another version, a database locked by a writer, a wrong password, an unreachable host, a catalog query past the
timeout), the user gets one SourceError sentence that names the source and says what to do: `connect` reads the
database once right away (`Database.probe`), and `reading` turns the library's own exceptions (sqlite3, duckdb,
psycopg) of the studio's reads into that sentence (introspection reads through it too). Nothing is ever written.
"""

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from sqlglot import exp

from core.db.engines import DuckDatabase, PostgresDatabase, SqliteDatabase, SqliteScriptDatabase
from core.db.execute import Database
from core.paths import SAMPLE_DATA, SAMPLE_SCHEMA
from core.redact import redact

SAMPLE = "sample"
PREFLIGHT_TIMEOUT_S = (
    2.0  # per query: a connected database answers the studio's own checks quickly or not at all
)
TABLE_FILES = (".csv", ".tsv", ".parquet", ".pq")
SQLITE_MAGIC = b"SQLite format 3\x00"
DUCKDB_MAGIC = b"DUCK"  # at byte 8 of a DuckDB file
DATABASE_FILES = (".sqlite", ".sqlite3", ".db", ".db3", ".s3db", ".sl3", ".duckdb", ".ddb")


class SourceError(ValueError):
    """A database source that cannot be opened. The message is meant for the user, as is."""


def is_postgres_url(source: str) -> bool:
    return source.startswith(("postgresql://", "postgres://"))


def split_password(url: str) -> tuple[str, str]:
    """(the URL without its password, the password): a PostgreSQL URL typed with its password is shown without it,
    the password kept in a masked box. Anything else comes back as it is, with no password."""
    if not is_postgres_url(url):
        return url, ""
    parts = urlsplit(url)
    if parts.password is None:
        return url, ""
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user.split(':', 1)[0]}@{host}")), unquote(parts.password)


def with_password(url: str, password: str) -> str:
    """The URL to connect to: a PostgreSQL URL without a password gets the masked box's (quoted as URLs need)."""
    if not password or not is_postgres_url(url) or urlsplit(url).password is not None:
        return url
    parts = urlsplit(url)
    user, at, host = parts.netloc.rpartition("@")
    if not at:
        return url  # no user name to put the password beside: libpq reads PGPASSWORD or ~/.pgpass instead
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))


def describe_source(source: str) -> str:
    """The source as it may be shown, logged or stored: passwords masked."""
    return redact(source or "")


def source_name(db: Database) -> str:
    """How a message names a connected database: the file it came from, or the PostgreSQL URL with the password
    masked."""
    return f"PostgreSQL {describe_source(db.source)}" if is_postgres_url(db.source) else db.label


@contextmanager
def reading(db: Database, doing: str) -> Iterator[None]:
    """The studio's own reads of a database (opening it, its catalog): the library's exceptions become one
    SourceError sentence that names the database, says what went wrong and what to do."""
    try:
        yield
    except db.errors as e:
        raise SourceError(f"{source_name(db)}: {db.explain(e, doing)}.") from None


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


class DuckFileDatabase(DuckDatabase):
    """A DuckDB database file, opened read-only, with file access and configuration locked."""

    label = "DuckDB file"

    def __init__(self, path: Path, **kw):
        Database.__init__(self, **kw)
        import duckdb

        self.label = f"DuckDB file {path.name}"
        with reading(self, "opening it"):
            self.con = duckdb.connect(str(path), read_only=True)
        self._lock_down()


def table_name_for(path: Path) -> str:
    """The table a CSV/Parquet file becomes: its name without the extension, as a plain identifier."""
    name = re.sub(r"\W+", "_", path.stem.strip()).strip("_").lower() or "table"
    return f"t_{name}" if name[0].isdigit() else name


class FileTablesDatabase(DuckDatabase):
    """CSV/Parquet files, each loaded as one table (named after the file) into an embedded DuckDB."""

    def __init__(self, files: list[Path], **kw):
        Database.__init__(self, **kw)
        import duckdb

        self.con = duckdb.connect(":memory:")
        seen: dict[str, Path] = {}
        for path in files:
            name = table_name_for(path)
            if name in seen:
                raise SourceError(
                    f"{path.name} and {seen[name].name} would both become the table '{name}'. "
                    "Rename one of them."
                )
            seen[name] = path
            try:
                reader = (
                    self.con.read_parquet if path.suffix.lower() in (".parquet", ".pq") else self.con.read_csv
                )
                relation = reader(str(path))
                view = f"file_{len(seen)}"
                self.con.register(view, relation)
                create = exp.Create(
                    this=exp.to_table(name, quoted=True), kind="TABLE", expression=exp.select("*").from_(view)
                )
                self.con.execute(create.sql(dialect="duckdb"))
                self.con.unregister(view)
            except duckdb.Error as e:
                raise SourceError(
                    f"{path.name}: cannot be read as a table ({str(e).splitlines()[0][:200]}). "
                    "Save it as comma-separated UTF-8 CSV with a header row, or as Parquet."
                ) from None
        self._lock_down()
        self.label = f"{len(files)} file{'s' if len(files) != 1 else ''} in an embedded DuckDB"
