"""PostgreSQL through a connection URL: each statement in its own READ ONLY transaction, rolled back when done,
under a statement timeout set when the session connects (the SQL guard refuses SET, so a query cannot lift it). A
connection that fails says why and what to check, the password masked.

It turns psycopg's errors into the categories of core.db.execute and its failures into one sentence (`explain`);
core.db.connect picks it from what the person gives.
"""

import re

from core.db.execute import RUNTIME, SYNTAX, TIMEOUT, UNKNOWN, Database, QueryResult, first_line
from core.redact import redact


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
