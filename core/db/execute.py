"""Execute SQL safely on a real database: embedded DuckDB (default), a SQLite file, or PostgreSQL.

Model-written SQL can never change data: only one read statement runs (checked with sqlglot first), with
a timeout and a row cap. DuckDB runs with external access disabled and its configuration locked; SQLite
opens read-only; PostgreSQL runs each statement in a READ ONLY transaction with a statement timeout.
SQL in another dialect is transpiled with sqlglot; a failure to transpile is reported as "not executed".
"""

import re
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp

from core.data import WRITE_STATEMENTS, parse_problem, parse_sql, transpile_sql
from core.redact import redact

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_ROW_CAP = 10_000
# Functions that read or write server files, reach other servers or change settings: never run them.
DENIED_FUNCTIONS = {
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_dir",
    "pg_stat_file",
    "lo_import",
    "lo_export",
    "dblink",
    "dblink_exec",
    "pg_terminate_backend",
    "pg_cancel_backend",
    "set_config",
    "pg_reload_conf",
    "query_to_xml",
    "read_csv",
    "read_csv_auto",
    "read_parquet",
    "read_json",
    "read_json_auto",
    "read_text",
    "read_blob",
    "glob",
    "sqlite_scan",
    "postgres_scan",
    "load_extension",
    # effects that outlive the rolled-back transaction: session locks, notifications, WAL messages
    "pg_advisory_lock",
    "pg_advisory_lock_shared",
    "pg_try_advisory_lock",
    "pg_try_advisory_lock_shared",
    "pg_advisory_xact_lock",
    "pg_notify",
    "pg_logical_emit_message",
    "dblink_connect",
    "dblink_send_query",
    "pg_file_write",
    "lo_create",
    "lo_unlink",
    "lo_from_bytea",
}
READ_ROOTS = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery)
# How the refusals that static validation also reports begin (the pre-flight reports them once, not twice).
UNPARSED, SEVERAL = "does not parse", "not executed: several statements"

# Categories of one executed query (and of a prediction compared with the gold result).
CORRECT, WRONG, RUNTIME, UNKNOWN, SYNTAX, TIMEOUT, NOT_EXECUTED = (
    "correct",
    "wrong result",
    "runtime error",
    "unknown table/column",
    "syntax error",
    "timeout",
    "not executed",
)


@dataclass
class QueryResult:
    ok: bool
    rows: list[tuple] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    category: str = ""  # "" when ok, else one of the error categories above
    error: str = ""
    truncated: bool = False
    seconds: float = 0.0


def read_only_problem(sql: str, dialect: str) -> tuple[str, str] | None:
    """(category, reason) when the SQL must not run, None when it is one read statement."""
    try:
        trees = [t for t in parse_sql(sql, dialect) if t is not None]
    except sqlglot.errors.SqlglotError as e:
        return SYNTAX, f"{UNPARSED}: {parse_problem(e)[0][:200]}"
    if not trees:
        return SYNTAX, "empty SQL"
    if len(trees) > 1:
        return NOT_EXECUTED, f"{SEVERAL} ({len(trees)}; only one SELECT runs)"
    tree = trees[0]
    if isinstance(tree, WRITE_STATEMENTS) or not isinstance(tree, READ_ROOTS):
        return NOT_EXECUTED, f"not executed: writes or is not a query ({tree.key.upper()})"
    if tree.find(exp.Insert, exp.Update, exp.Delete, exp.Drop, exp.Create, exp.Alter, exp.Into, exp.Command):
        return NOT_EXECUTED, "not executed: writes (a statement that changes data inside the query)"
    for func in tree.find_all(exp.Func):
        name = (func.sql_name() if not isinstance(func, exp.Anonymous) else func.name).lower()
        if name in DENIED_FUNCTIONS:
            return NOT_EXECUTED, f"not executed: function {name} is not allowed"
    for table in tree.find_all(exp.Table):  # DuckDB reads files given as table names: FROM 'x.csv'
        if isinstance(table.this, exp.Literal):
            return NOT_EXECUTED, "not executed: reading files is not allowed"
    return None


def first_line(error: Exception, limit: int = 200) -> str:
    """An exception's message as it may go into a one-line sentence: its first line, cut to `limit` characters."""
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:limit].rstrip(".")


def transpile(sql: str, source: str, target: str) -> str:
    if source == target:
        return sql
    return transpile_sql(sql, source, target)


class Database:
    """Base class: `execute` checks safety, transpiles, runs with a timeout and a row cap."""

    dialect = "duckdb"
    label = "database"
    source = ""  # what core.db.connect opened it from (may hold a password: show it through redact only)

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S, row_cap: int = DEFAULT_ROW_CAP):
        self.timeout_s, self.row_cap = timeout_s, row_cap
        self._cap = row_cap  # the row cap of the statement running now (set under the lock)
        self._lock = threading.Lock()  # one statement at a time per connection

    @property
    def errors(self) -> tuple[type[Exception], ...]:
        """The library's own exceptions, which its catalog reads raise (core.db.connect makes them one sentence)."""
        return ()

    def probe(self) -> None:
        """One cheap read right after opening: a file that is no database, is damaged or is locked by a writer
        fails here, when it is connected, rather than in the middle of a later step."""

    def explain(self, error: Exception, doing: str) -> str:
        """What went wrong and what to do, as the end of a sentence that core.db.connect starts with the database's
        name. `doing` says what the studio was doing ("reading its tables")."""
        return (
            f"{doing} failed ({first_line(error)}). Check that the database can be read, then connect again"
        )

    def _took_too_long(self, doing: str) -> str:
        return f"{doing} took longer than {self.timeout_s:g} s and was stopped"

    def catalog(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        """Rows of one of the studio's own catalog queries (core.db.introspect), never user SQL: it skips the
        read-only check, not the connection's lock."""
        with self._lock:
            return [tuple(r) for r in self.con.execute(sql, params).fetchall()]

    def execute(self, sql: str, source_dialect: str = "postgres", row_cap: int | None = None) -> QueryResult:
        """Run one read statement; at most `row_cap` rows come back (default: the database's), `truncated` says
        whether there were more."""
        problem = read_only_problem(sql, source_dialect)
        if problem:
            return QueryResult(False, category=problem[0], error=problem[1])
        try:
            native = transpile(sql, source_dialect, self.dialect)
        except sqlglot.errors.SqlglotError as e:
            return QueryResult(
                False,
                category=NOT_EXECUTED,
                error=f"not executed: could not translate "
                f"{source_dialect} to {self.dialect} ({parse_problem(e)[0]})",
            )
        start = time.perf_counter()
        with self._lock:
            self._cap = row_cap or self.row_cap
            result = self._run(native)
        result.seconds = time.perf_counter() - start
        result.error = redact(result.error)
        return result

    def _run(self, sql: str) -> QueryResult:  # pragma: no cover - implemented by subclasses
        raise NotImplementedError

    def _fetch(self, cursor) -> tuple[list[tuple], list[str], bool]:
        rows = cursor.fetchmany(self._cap + 1)
        columns = [d[0] for d in cursor.description or []]
        return [tuple(r) for r in rows[: self._cap]], columns, len(rows) > self._cap


class DuckDatabase(Database):
    """In-memory DuckDB built from DDL (in any dialect) plus optional data, then locked down."""

    dialect = "duckdb"
    label = "DuckDB (in memory)"

    def __init__(self, ddl: str, data: str | Path | None = None, ddl_dialect: str = "postgres", **kw):
        super().__init__(**kw)
        import duckdb

        self.con = duckdb.connect(":memory:")
        for statement in parse_sql(ddl, ddl_dialect) if ddl.strip() else []:
            if isinstance(statement, (exp.Create, exp.Insert)):  # skip PRAGMAs, comments and the like
                self.con.execute(statement.sql(dialect="duckdb", comments=False))
        if data:
            self._load(data, ddl_dialect)
        self._lock_down()

    @property
    def errors(self) -> tuple[type[Exception], ...]:
        import duckdb

        return (duckdb.Error,)

    def explain(self, error: Exception, doing: str) -> str:
        import duckdb

        line, version = first_line(error), duckdb.__version__
        if isinstance(error, duckdb.InterruptException):
            return f"{self._took_too_long(doing)}. Try again when the machine is less busy"
        if re.search(r"(?i)storage version|newer version|older version|version number", line):
            # the folder an export writes (CSV or Parquet files) is a source the studio connects as it is
            return (
                f"it was written by a DuckDB version that the installed DuckDB {version} cannot read ({line}). "
                "Open it with the DuckDB that wrote it, run EXPORT DATABASE 'folder' (FORMAT parquet) and connect "
                "that folder, or install that DuckDB version"
            )
        if re.search(r"(?i)could not set lock|conflicting lock|different configuration", line):
            return (
                f"another program has it open for writing ({line}). Close that program or its connection to "
                "the file, then connect again"
            )
        if re.search(r"(?i)corrupt|checksum|could not read enough bytes|not a valid duckdb", line):
            return (
                f"the file is damaged or incomplete ({line}). Copy or upload it again from the original: a "
                "copy or upload may have stopped early"
            )
        return (
            f"the installed DuckDB {version} cannot read it ({line}). Check that it is a DuckDB database file "
            "written by a compatible DuckDB version"
        )

    def _lock_down(self) -> None:
        """From here on queries cannot read or write files, attach databases or install extensions. DuckDB shares
        one database instance between the connections of a process to the same file: a second connection finds
        it locked down already, and that is checked rather than set again."""
        locked = self.con.execute("SELECT current_setting('lock_configuration')").fetchone()[0]
        if not locked:
            self.con.execute("SET enable_external_access = false")
            self.con.execute("SET lock_configuration = true")
        elif self.con.execute("SELECT current_setting('enable_external_access')").fetchone()[0]:
            raise RuntimeError("a DuckDB database is open in this process with file access allowed")

    def _load(self, data, ddl_dialect: str) -> None:
        path = Path(data) if not (isinstance(data, str) and "\n" in data) else None
        if path is not None and path.is_dir():  # one CSV per table, named after the table
            for csv_file in sorted(path.glob("*.csv")):
                self._load_csv(csv_file)
        elif path is not None and path.suffix.lower() in (".sqlite", ".db", ".sqlite3"):
            self.con.execute(f"ATTACH '{path}' AS src (TYPE sqlite, READ_ONLY)")
            for (name,) in self.con.execute(
                "SELECT name FROM (SHOW ALL TABLES) WHERE database = 'src'"
            ).fetchall():
                self.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM src."{name}"')
            self.con.execute("DETACH src")
        else:
            script = path.read_text(encoding="utf-8") if path is not None else data
            for statement in parse_sql(script, ddl_dialect):
                if isinstance(statement, (exp.Create, exp.Insert)):
                    self.con.execute(statement.sql(dialect="duckdb", comments=False))

    def _load_csv(self, csv_file: Path) -> None:
        """DuckDB's own CSV reader (a UTF-8 BOM is skipped, empty cells are NULL), matched to the table's columns by
        the header's names. Every cell is read as text and cast to the table's column types, as an INSERT of the
        values would: no type guessing (a zip code 007 stays 007 in a TEXT column). Runs before external access is
        locked."""
        import duckdb

        if csv_file.stat().st_size == 0:
            return
        table = exp.to_identifier(csv_file.stem, quoted=True).sql(dialect="duckdb")
        try:
            self.con.execute(
                f"INSERT INTO {table} BY NAME SELECT * FROM read_csv(?, header = true, all_varchar = true, "
                "delim = ',', quote = '\"', escape = '\"')",
                [str(csv_file)],
            )
        except duckdb.Error as e:
            raise ValueError(
                f"{csv_file.name}: cannot be loaded into the table {csv_file.stem} "
                f"({str(e).splitlines()[0]}). Check that file: its name is a table of the schema, its "
                "header row names that table's columns, and its values fit their types."
            ) from None

    def _run(self, sql: str) -> QueryResult:
        import duckdb

        cursor = self.con.cursor()
        timer = threading.Timer(self.timeout_s, cursor.interrupt)
        timer.start()
        try:
            cursor.execute(sql)
            rows, columns, truncated = self._fetch(cursor)
            return QueryResult(True, rows, columns, truncated=truncated)
        except duckdb.InterruptException:
            return QueryResult(False, category=TIMEOUT, error=f"timeout: stopped after {self.timeout_s:g} s")
        except duckdb.ParserException as e:
            return QueryResult(False, category=SYNTAX, error=str(e).splitlines()[0])
        except (duckdb.CatalogException, duckdb.BinderException) as e:
            category = UNKNOWN if re.search(r"does not exist|not found|Referenced", str(e)) else RUNTIME
            return QueryResult(False, category=category, error=str(e).splitlines()[0])
        except duckdb.Error as e:
            return QueryResult(False, category=RUNTIME, error=str(e).splitlines()[0])
        finally:
            timer.cancel()
            cursor.close()


class SqliteDatabase(Database):
    """A SQLite file, opened read-only."""

    dialect = "sqlite"
    label = "SQLite file"

    errors = (sqlite3.Error,)

    def __init__(self, path: str | Path, **kw):
        super().__init__(**kw)
        # as_uri() percent-encodes the path: a '#', '?' or '%' in a file name stays part of the name. A writer's lock
        # is waited for as long as a statement may run, then reported (SQLITE_BUSY), never waited for forever.
        self.con = sqlite3.connect(
            Path(path).resolve().as_uri() + "?mode=ro",
            uri=True,
            check_same_thread=False,
            timeout=self.timeout_s,
        )

    def probe(self) -> None:
        # the first page: SQLite checks the header (and the file's length against it) before it answers
        self.con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()

    def explain(self, error: Exception, doing: str) -> str:
        said = f"SQLite says: {first_line(error)}"
        code = getattr(error, "sqlite_errorname", "")
        if code.startswith("SQLITE_CORRUPT"):
            return (
                f"the file is damaged or incomplete ({said}). Copy or upload it again from the original: a copy "
                "or upload may have stopped early"
            )
        if code.startswith("SQLITE_NOTADB"):
            return (
                f"it is not a SQLite database, or it is encrypted ({said}). Pick the database file itself (an "
                "encrypted one must be decrypted first)"
            )
        if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return (
                f"another program is writing to it and holds its lock ({said}, after waiting "
                f"{self.timeout_s:g} s). Wait until that program has finished writing, or close it, then "
                "connect again"
            )
        if code.startswith("SQLITE_INTERRUPT"):
            return f"{self._took_too_long(doing)}. Try again when the machine is less busy"
        if code.startswith(("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_PERM", "SQLITE_AUTH")):
            return f"the file cannot be read ({said}). Check that it exists and that this user may read it"
        return (
            f"{doing} failed ({said}). Check the file with the sqlite3 tool (PRAGMA integrity_check), or copy it "
            "again from the original"
        )

    def _run(self, sql: str) -> QueryResult:
        deadline = time.monotonic() + self.timeout_s
        self.con.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            cursor = self.con.execute(sql)
            rows, columns, truncated = self._fetch(cursor)
            return QueryResult(True, rows, columns, truncated=truncated)
        except sqlite3.OperationalError as e:
            text = str(e)
            if "interrupted" in text:
                return QueryResult(
                    False, category=TIMEOUT, error=f"timeout: stopped after {self.timeout_s:g} s"
                )
            if getattr(e, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
                # another program's write lock: a wait that ran out, not a fault of the query
                return QueryResult(
                    False,
                    category=TIMEOUT,
                    error=f"timeout: another program held the database's "
                    f"write lock for over {self.timeout_s:g} s",
                )
            category = UNKNOWN if "no such" in text else SYNTAX if "syntax" in text else RUNTIME
            return QueryResult(False, category=category, error=text)
        except sqlite3.Error as e:
            return QueryResult(False, category=RUNTIME, error=str(e))
        finally:
            self.con.set_progress_handler(None, 0)


class PostgresDatabase(Database):
    """PostgreSQL through a connection URL; every statement in its own READ ONLY transaction (psycopg's `read_only`),
    rolled back when done, under a statement timeout set for the session when it connects."""

    dialect = "postgres"
    label = "PostgreSQL"

    def __init__(self, url: str, **kw):
        super().__init__(**kw)
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        # The timeout goes in the connection's startup options (after any the URL gives): no SET statement, and
        # the SQL guard refuses SET and set_config, so a query cannot lift it.
        options = (
            f"{conninfo_to_dict(url).get('options') or ''} -c statement_timeout={int(self.timeout_s * 1000)}"
        )
        try:
            self.con = psycopg.connect(url, autocommit=True, connect_timeout=10, options=options.strip())
        except psycopg.Error as e:
            raise ConnectionError(
                redact(f"Could not connect to PostgreSQL {url}: {_connect_problem(e)}")
            ) from None
        self.con.read_only = True  # each transaction() begins with BEGIN READ ONLY

    @property
    def errors(self) -> tuple[type[Exception], ...]:
        import psycopg

        return (psycopg.Error,)

    def explain(self, error: Exception, doing: str) -> str:
        from psycopg import OperationalError, errors

        said = redact(first_line(error))
        if isinstance(error, errors.QueryCanceled):
            return (
                f"{self._took_too_long(doing)} (the studio's statement timeout). The server may be busy, or "
                "another session holds a lock on the tables: try again later"
            )
        if isinstance(error, errors.InsufficientPrivilege):
            return f"the user may not read it ({said}). Connect as a user who may read the schema's tables"
        if isinstance(error, OperationalError):
            return f"the connection was lost ({said}). Check that the server is running, then connect again"
        return f"{doing} failed ({said}). Check that the user may read the schema, then connect again"

    def _run(self, sql: str) -> QueryResult:
        import psycopg
        from psycopg import errors

        try:
            # rolled back even after a read: nothing a query does (a sequence, a lock) outlives it
            with self.con.transaction(force_rollback=True), self.con.cursor() as cursor:
                cursor.execute(sql)
                rows, columns, truncated = self._fetch(cursor)
            return QueryResult(True, rows, columns, truncated=truncated)
        except errors.QueryCanceled:
            return QueryResult(False, category=TIMEOUT, error=f"timeout: stopped after {self.timeout_s:g} s")
        except (errors.UndefinedTable, errors.UndefinedColumn, errors.UndefinedFunction) as e:
            return QueryResult(False, category=UNKNOWN, error=str(e).splitlines()[0])
        except errors.SyntaxError as e:
            return QueryResult(False, category=SYNTAX, error=str(e).splitlines()[0])
        except psycopg.Error as e:
            return QueryResult(False, category=RUNTIME, error=str(e).splitlines()[0])


# What to check for each way a connection fails (psycopg gives them all as OperationalError, without an SQLSTATE).
_CONNECT_HINTS = (
    (r"password|authentication", "Check the user name and password"),
    (r'role "[^"]*" does not exist', "Check the user name"),
    (r'database "[^"]*" does not exist', "Check the database name (the part of the URL after the last /)"),
    (r"pg_hba\.conf", "The server does not let this user connect from this machine: ask its administrator"),
    (
        r"(?i)refused|timeout|timed out|resolve|translate host|no route|unreachable|no such file",
        "Check the host and port, and that the server is running and accepts connections from this machine",
    ),
)


def _connect_problem(error: Exception) -> str:
    """psycopg's reason for a failed connection, without libpq's framing, and what to check."""
    text = first_line(error, 300)
    text = re.sub(
        r'^connection failed: |connection to server (?:at|on socket) "[^"]*"(?: \([^)]*\))?'
        r"(?:, port \d+)? failed: |FATAL:\s+",
        "",
        text,
    ).strip()
    hint = next(
        (h for pattern, h in _CONNECT_HINTS if re.search(pattern, text)),
        "Check the host, port, database name, user and password",
    )
    return f"{text}. {hint}"


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
