"""SQLite: a file opened read-only (a writer's lock waited for as long as a statement may run, then reported), and a
SQL script built in an in-memory SQLite and made read-only, for scripts DuckDB refuses and SQLite accepts.

Each turns sqlite3's errors into the categories of core.db.execute and its failures into one sentence (`explain`);
core.db.connect picks it from what the person gives.
"""

import sqlite3
import time
from pathlib import Path

from core.db.execute import RUNTIME, SYNTAX, TIMEOUT, UNKNOWN, Database, QueryResult, first_line


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
