"""The databases SQL runs on, each a core.db.execute.Database: embedded DuckDB built from DDL and rows (locked down:
no external access, configuration locked), a SQLite file opened read-only, and PostgreSQL (each statement in a READ
ONLY transaction under a statement timeout); and `open_database`, which picks one from a target string.

core.db.connect opens them from what the user gives (a file, a folder, a URL, the sample); each engine turns its
library's errors into the categories of core.db.execute and its failures into one sentence (`explain`).
"""

import re
import sqlite3
import threading
import time
from pathlib import Path

from sqlglot import exp

from core.data import parse_sql
from core.db.execute import (
    DEFAULT_ROW_CAP,
    DEFAULT_TIMEOUT_S,
    RUNTIME,
    SYNTAX,
    TIMEOUT,
    UNKNOWN,
    Database,
    QueryResult,
    first_line,
)
from core.redact import redact


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


class SqliteScriptDatabase(SqliteDatabase):
    """A SQL script built in an in-memory SQLite, then made read-only: for scripts that SQLite accepts and DuckDB
    does not (SQLite lets a foreign key join an INTEGER column to a VARCHAR one, as Spider's car_1 does)."""

    def __init__(self, script: str, **kw):
        Database.__init__(self, **kw)
        self.con = sqlite3.connect(":memory:", check_same_thread=False, timeout=self.timeout_s)
        try:
            self.con.executescript(script)
        except sqlite3.Error:
            self.con.close()
            raise
        self.con.execute("PRAGMA query_only = ON")  # from here on, no statement can change it


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
