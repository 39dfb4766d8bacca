"""DuckDB, embedded, in three forms: built in memory from DDL (in any dialect) and rows (the sample, a .sql script,
the evaluation's default), a DuckDB database file opened read-only, and CSV/Parquet files loaded one table each. All
three are locked down before the first query: no file access, no extensions, configuration locked.

Each turns DuckDB's errors into the categories of core.db.execute and its failures into one sentence (`explain`);
core.db.connect picks it from what the person gives.
"""

import re
import threading
from pathlib import Path

from sqlglot import exp

from core.data import parse_sql
from core.db.execute import RUNTIME, SYNTAX, TIMEOUT, UNKNOWN, Database, QueryResult, first_line
from core.db.source import SourceError, reading


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
