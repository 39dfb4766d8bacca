"""What is in a connected database: tables, columns, types, keys, row counts and example values.

    info = introspect(db)                  # SchemaInfo
    info.ddl("sqlite")                     # compact CREATE TABLEs for the prompt (built with sqlglot)
    info.ddl("sqlite", tables={"singer"})  # only some tables (when the whole schema is too long for the prompt)

Declared foreign keys come from the catalog; others are inferred from names (`customer_id` -> `customers.customer_id`
or `customers.id`) and marked `inferred`, so the user can untick a wrong one. Example values come from the first
SAMPLE_ROWS rows of each table (one query per table, so a 200-table schema takes a moment, not minutes).

A catalog query that fails (a damaged file, a lost connection, the statement timeout) is one SourceError sentence
(core.db.source.reading). A table that cannot be counted or sampled in time (locked by another session, a slow
view) keeps what could be read and is named in `SchemaInfo.problems`; when the first tables cannot be read at all,
the database is locked or unreadable as a whole, and that is a SourceError too.

What it returns is in core.db.schema_info; the keys inferred from names come from core.db.foreign_keys.
"""

import datetime
import decimal
import re
import sqlite3
from collections import Counter

from sqlglot import exp

from core.db.execute import TIMEOUT, Database
from core.db.foreign_keys import infer_foreign_keys
from core.db.schema_info import Column, ForeignKey, SchemaInfo, Table
from core.db.source import SourceError, reading, source_name
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
