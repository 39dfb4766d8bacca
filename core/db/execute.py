"""Execute SQL safely on a real database: embedded DuckDB (default), a SQLite file, or PostgreSQL.

Model-written SQL can never change data: only one read statement runs (checked with sqlglot first), with
a timeout and a row cap. DuckDB runs with external access disabled and its configuration locked; SQLite
opens read-only; PostgreSQL runs each statement in a READ ONLY transaction with a statement timeout.
SQL in another dialect is transpiled with sqlglot; a failure to transpile is reported as "not executed".

This module holds the base class (the read-only check, transpiling, the timeout and the row cap), the result and its
categories; the engines are core.db.engine_duckdb, engine_sqlite and engine_postgres, and core.db.connect opens one
from a source string (`connect`) or a target (`open_database`).
"""

import threading
import time
from dataclasses import dataclass, field

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
