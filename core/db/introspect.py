"""What is in a connected database: tables, columns, types, keys, row counts and example values.

    info = introspect(db)                  # SchemaInfo
    info.ddl("sqlite")                     # compact CREATE TABLEs for the prompt (built with sqlglot)
    info.ddl("sqlite", tables={"singer"})  # only some tables (when the whole schema is too long for the prompt)

Declared foreign keys come from the catalog; others are inferred from names (`customer_id` -> `customers.customer_id`
or `customers.id`) and marked `inferred`, so the user can untick a wrong one. Example values come from the first
SAMPLE_ROWS rows of each table (one query per table, so a 200-table schema takes a moment, not minutes).

A catalog query that fails (a damaged file, a lost connection, the statement timeout) is one SourceError sentence
(core.db.connect.reading). A table that cannot be counted or sampled in time (locked by another session, a slow
view) keeps what could be read and is named in `SchemaInfo.problems`; when the first tables cannot be read at all,
the database is locked or unreadable as a whole, and that is a SourceError too.
"""

import datetime
import decimal
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass, field

from sqlglot import exp

from core.data import Schema
from core.db.connect import SourceError, reading, source_name
from core.db.execute import TIMEOUT, Database
from core.db.sqlnames import ident, table_ref

SAMPLE_ROWS = 2000
LOW_CARDINALITY = 20  # a text column with at most this many distinct values lists them all
EXAMPLES = 20  # values kept per column: what generated questions filter on (the schema panel shows a few)
EXAMPLE_ROWS = (
    30  # whole rows kept per table: two conditions from one row ("first name X and last name Y") match
)
UNREADABLE_TO_STOP = (
    3  # the first tables all unreadable: the database is locked or unreadable as a whole, stop
)


@dataclass
class Column:
    name: str
    type: str  # as the database declares it
    kind: str = "other"  # number | text | date | bool | other (what filters make sense on it)
    primary_key: bool = False
    examples: list = field(default_factory=list)  # distinct non-null values, most frequent first
    distinct: int = 0  # distinct non-null values among the sampled rows
    nulls: int = 0  # null values among the sampled rows


@dataclass
class ForeignKey:
    table: str
    columns: list[str]
    ref_table: str
    ref_columns: list[str]
    inferred: bool = False

    @property
    def label(self) -> str:
        cols, refs = ", ".join(self.columns), ", ".join(self.ref_columns)
        return f"{self.table}({cols}) -> {self.ref_table}({refs})" + (" (inferred)" if self.inferred else "")


@dataclass
class Table:
    name: str
    columns: list[Column]
    rows: int = 0
    primary_key: list[str] = field(default_factory=list)
    sample: list[tuple] = field(default_factory=list)  # a few whole rows, values in the order of `columns`

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name.lower() == name.lower()), None)


@dataclass
class SchemaInfo:
    dialect: str
    tables: list[Table]
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # tables that could not be counted or sampled, and why

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name.lower() == name.lower()), None)

    def without_keys(self, labels: set[str]) -> "SchemaInfo":
        """A copy without the foreign keys whose label the user unticked."""
        return SchemaInfo(
            self.dialect, self.tables, [k for k in self.foreign_keys if k.label not in labels], self.problems
        )

    def ddl(self, dialect: str | None = None, tables: set[str] | None = None) -> str:
        """Compact CREATE TABLE statements (names and types only), as they go into the prompt."""
        dialect = dialect or self.dialect
        wanted = {t.lower() for t in tables} if tables is not None else None
        out = []
        for table in self._referenced_first():
            if wanted is not None and table.name.lower() not in wanted:
                continue
            columns = [
                exp.ColumnDef(this=ident(c.name, dialect), kind=_data_type(c.type, self.dialect))
                for c in table.columns
            ]
            keys = self._keys_of(table, dialect)
            create = exp.Create(
                kind="TABLE", this=exp.Schema(this=table_ref(table.name, dialect), expressions=columns + keys)
            )
            out.append(create.sql(dialect=dialect) + ";")
        return "\n".join(out)

    def _referenced_first(self) -> list["Table"]:
        """The tables in an order a database can create them in: a table after those its foreign keys refer to."""
        done: list[Table] = []
        waiting = list(self.tables)
        while waiting:
            ready = [
                t
                for t in waiting
                if all(
                    k.ref_table in {d.name for d in done} or k.ref_table == t.name
                    for k in self.foreign_keys
                    if k.table == t.name
                )
            ] or waiting[:1]
            done.append(ready[0])
            waiting.remove(ready[0])
        return done

    def _keys_of(self, table: "Table", dialect: str) -> list[exp.Expression]:
        """PRIMARY KEY (...) and FOREIGN KEY (...) REFERENCES ... (...) of a table: how its rows join others."""
        keys: list[exp.Expression] = []
        if table.primary_key:
            keys.append(exp.PrimaryKey(expressions=[ident(c, dialect) for c in table.primary_key]))
        for key in self.foreign_keys:
            if key.table == table.name:
                reference = exp.Reference(
                    this=exp.Schema(
                        this=table_ref(key.ref_table, dialect),
                        expressions=[ident(c, dialect) for c in key.ref_columns],
                    )
                )
                keys.append(
                    exp.ForeignKey(expressions=[ident(c, dialect) for c in key.columns], reference=reference)
                )
        return keys

    def to_schema(self, dialect: str | None = None) -> Schema:
        """The core.data Schema (table -> columns, plus the DDL) that static validation checks names against."""
        return Schema({t.name: [c.name for c in t.columns] for t in self.tables}, self.ddl(dialect))

    def summary(self) -> str:
        keys = len(self.foreign_keys)
        inferred = sum(k.inferred for k in self.foreign_keys)
        return (
            f"{len(self.tables)} tables, {sum(len(t.columns) for t in self.tables)} columns, "
            f"{sum(t.rows for t in self.tables):,} rows, {keys} foreign keys ({inferred} inferred)"
        )


def _data_type(declared: str, dialect: str) -> exp.DataType:
    try:
        return exp.DataType.build(declared or "TEXT", dialect=dialect)
    except Exception:  # noqa: BLE001 - an exotic type name: the prompt still gets the column, as text
        return exp.DataType.build("TEXT")


NUMBER_TYPES = re.compile(r"(?i)int|numeric|decimal|real|float|double|number|money|serial")
DATE_TYPES = re.compile(r"(?i)date|time")
BOOL_TYPES = re.compile(r"(?i)bool")


def _kind(declared: str, values: list) -> str:
    if BOOL_TYPES.search(declared or "") or (values and all(isinstance(v, bool) for v in values)):
        return "bool"
    if DATE_TYPES.search(declared or "") or (
        values and all(isinstance(v, (datetime.date, datetime.datetime)) for v in values)
    ):
        return "date"
    if NUMBER_TYPES.search(declared or ""):
        return "number" if all(isinstance(v, (int, float, decimal.Decimal)) for v in values) else "text"
    if values and all(isinstance(v, (int, float, decimal.Decimal)) for v in values):
        return "number"
    if values and all(isinstance(v, str) for v in values):
        return "text"
    return (
        "other"
        if values
        else ("text" if re.search(r"(?i)char|text|string|clob", declared or "") else "other")
    )


def introspect(db: Database) -> SchemaInfo:
    """Tables, columns, keys, row counts and example values of a connected database. Raises SourceError when the
    catalog cannot be read, or no table can."""
    reader = {"sqlite": _sqlite_catalog, "postgres": _postgres_catalog}.get(db.dialect, _duckdb_catalog)
    with reading(db, "reading its list of tables"):
        tables, keys, problems = reader(db)
    readable, unread = 0, []
    for table in tables:
        ok, problem = _sample(db, table)
        if problem:
            problems.append(f"table {table.name}: {problem}")
        readable += ok
        unread += [] if ok else [problems[-1]]
        if unread and not readable and len(unread) >= min(UNREADABLE_TO_STOP, len(tables)):
            raise SourceError(_none_readable(db, unread, len(tables)))
    keys = list({k.label: k for k in keys}.values())  # a key declared twice is one key
    keys += infer_foreign_keys(tables, keys)
    return SchemaInfo(db.dialect, tables, keys, problems)


def _none_readable(db: Database, unread: list[str], tables: int) -> str:
    return (
        f"{source_name(db)}: none of the tables tried could be read ({len(unread)} of {tables}; {unread[0]}). "
        "Check that no other program or session is writing to them (it may hold a lock) and that this user may "
        "read them, then connect again."
    )


# Each catalog reader returns (tables, keys, what it left out and why).
Catalog = tuple[list[Table], list[ForeignKey], list[str]]


def _sqlite_catalog(db: Database) -> Catalog:
    names = [
        r[0]
        for r in db.catalog(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    tables, keys, left_out = [], [], []
    for name in names:
        try:
            info = db.catalog("SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid", (name,))
        except sqlite3.OperationalError as e:  # a view over a table that is gone: that view only is left out
            left_out.append(f"view {name}: left out, SQLite cannot read its columns ({e})")
            continue
        pk = [r[0] for r in sorted((r for r in info if r[2]), key=lambda r: r[2])]
        tables.append(
            Table(name, [Column(r[0], r[1] or "", primary_key=r[0] in pk) for r in info], primary_key=pk)
        )
        by_id: dict[int, ForeignKey] = {}
        for ref, frm, to, fk_id in db.catalog(
            'SELECT "table", "from", "to", id FROM pragma_foreign_key_list(?) ORDER BY id, seq', (name,)
        ):
            key = by_id.setdefault(fk_id, ForeignKey(name, [], ref, []))
            key.columns.append(frm)
            key.ref_columns.append(to or "")
        keys.extend(by_id.values())
    for key in keys:  # REFERENCES t without columns: the referenced table's primary key
        target = next((t for t in tables if t.name.lower() == key.ref_table.lower()), None)
        if target and not all(key.ref_columns):
            key.ref_columns = list(target.primary_key[: len(key.columns)])
        if target:
            key.ref_table = target.name
    return tables, [k for k in keys if all(k.ref_columns) and len(k.ref_columns) == len(k.columns)], left_out


def _tables_from(rows) -> dict[str, Table]:
    """(table, column, declared type) rows, in order, as tables."""
    tables: dict[str, Table] = {}
    for table, column, declared in rows:
        tables.setdefault(table, Table(table, [])).columns.append(Column(column, declared or ""))
    return tables


def _duckdb_catalog(db: Database) -> Catalog:
    rows = db.catalog(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = current_schema() "
        "ORDER BY table_name, ordinal_position"
    )
    tables = _tables_from(rows)
    keys = []
    for table, kind, columns, ref_table, ref_columns in db.catalog(
        "SELECT table_name, constraint_type, constraint_column_names, referenced_table, referenced_column_names "
        "FROM duckdb_constraints() WHERE database_name = current_database() AND schema_name = current_schema() "
        "AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY') ORDER BY table_name, constraint_index"
    ):
        if table not in tables:
            continue
        if kind == "PRIMARY KEY":
            _set_primary_key(tables[table], list(columns))
        elif ref_table:
            keys.append(ForeignKey(table, list(columns), ref_table, list(ref_columns)))
    return list(tables.values()), keys, []


_PG_KEYS = """
SELECT c.contype, cl.relname,
       ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
       rf.relname,
       ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY AS k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)
FROM pg_constraint c
JOIN pg_class cl ON cl.oid = c.conrelid
JOIN pg_namespace ns ON ns.oid = cl.relnamespace
LEFT JOIN pg_class rf ON rf.oid = c.confrelid
WHERE ns.nspname = current_schema() AND c.contype IN ('p', 'f')
ORDER BY cl.relname, c.conname
"""


def _postgres_catalog(db: Database) -> Catalog:
    rows = db.catalog(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_schema = c.table_schema "
        "AND t.table_name = c.table_name WHERE c.table_schema = current_schema() "
        "ORDER BY c.table_name, c.ordinal_position"
    )
    tables = _tables_from(rows)
    keys = []
    for kind, table, columns, ref_table, ref_columns in db.catalog(_PG_KEYS):
        if table not in tables:
            continue
        if kind == "p":
            _set_primary_key(tables[table], list(columns))
        else:
            keys.append(ForeignKey(table, list(columns), ref_table, list(ref_columns)))
    return list(tables.values()), keys, []


def _set_primary_key(table: Table, columns: list[str]) -> None:
    table.primary_key = columns
    for column in table.columns:
        column.primary_key = column.name in columns


def _sample(db: Database, table: Table) -> tuple[bool, str]:
    """Row count, then example values and kinds from the first SAMPLE_ROWS rows (built with sqlglot, run read-only
    with the database's timeout). Returns (whether the table could be read, what went wrong or "")."""
    dialect = db.dialect
    count = exp.select(exp.Count(this=exp.Star())).from_(table_ref(table.name, dialect)).sql(dialect=dialect)
    counted = db.execute(count, dialect)
    table.rows = int(counted.rows[0][0]) if counted.ok and counted.rows else 0
    columns = [exp.column(ident(c.name, dialect)) for c in table.columns]
    if not columns:
        return counted.ok, _failed(counted, "counting its rows")
    query = exp.select(*columns).from_(table_ref(table.name, dialect)).limit(SAMPLE_ROWS).sql(dialect=dialect)
    result = db.execute(query, dialect)
    rows = result.rows if result.ok else []
    _describe_columns(table, rows)
    if not result.ok:
        return False, _failed(result, "reading its first rows")
    if not counted.ok:  # e.g. a count of a huge table past the timeout, while its first rows came at once
        table.rows = len(rows)
        return True, f"{_failed(counted, 'counting its rows')}; it has at least {len(rows):,} rows"
    return True, ""


def _failed(result, doing: str) -> str:
    if result.ok:
        return ""
    if result.category == TIMEOUT:
        return f"{doing} took too long ({result.error})"
    return f"{doing} failed ({result.error})"


def _describe_columns(table: Table, rows: list[tuple]) -> None:
    """Example rows, values, kinds and counts of the sampled rows."""
    table.sample = rows[:: max(1, len(rows) // EXAMPLE_ROWS)][:EXAMPLE_ROWS]
    for i, column in enumerate(table.columns):
        values = [r[i] for r in rows]
        present = [v for v in values if v is not None]
        counts = Counter(present)
        ranked = sorted(counts, key=lambda v: (-counts[v], _order(v)))
        column.kind = _kind(column.type, present[:200])
        column.distinct = len(counts)
        column.nulls = len(values) - len(present)
        low = column.kind == "text" and len(counts) <= LOW_CARDINALITY
        # many distinct values: a spread of them (every k-th by frequency), not just the smallest ones
        column.examples = ranked if low else ranked[:: max(1, len(ranked) // EXAMPLES)][:EXAMPLES]


def _order(value) -> tuple:
    return (0, float(value), "") if isinstance(value, (int, float, decimal.Decimal)) else (1, 0.0, str(value))


def _table_names_for(stem: str) -> set[str]:
    """Table names a column stem may refer to: customer -> customer, customers; category -> categories;
    shelf -> shelves; box -> boxes."""
    stem = stem.lower().rstrip("_")
    names = {stem, stem + "s", stem + "es"}
    if stem.endswith("y"):
        names.add(stem[:-1] + "ies")
    if stem.endswith("f"):
        names.add(stem[:-1] + "ves")
    if stem.endswith("fe"):
        names.add(stem[:-2] + "ves")
    return names


def infer_foreign_keys(tables: list[Table], declared: list[ForeignKey]) -> list[ForeignKey]:
    """Keys the names suggest (`customer_id` -> customers.customer_id or customers.id), marked inferred."""
    covered = {(k.table.lower(), c.lower()) for k in declared for c in k.columns}
    by_name = {t.name.lower(): t for t in tables}
    found = []
    for table in tables:
        for column in table.columns:
            match = re.fullmatch(r"(?i)(.+?)_?id", column.name)
            if not match or (table.name.lower(), column.name.lower()) in covered:
                continue
            if table.primary_key == [column.name]:
                continue  # a table's own key
            target = next(
                (by_name[n] for n in sorted(_table_names_for(match.group(1))) if n in by_name), None
            )
            if target is None or target is table:
                continue
            ref = target.column(column.name) or target.column("id")
            if ref is None or not (ref.primary_key or len(target.primary_key) == 0):
                continue
            found.append(ForeignKey(table.name, [column.name], target.name, [ref.name], inferred=True))
    return found
