"""Parse a schema given as DDL text (CREATE TABLE statements) into tables and their columns, with sqlglot.

Other statements in the text (INSERTs, comments, PRAGMAs) are ignored, so a schema-plus-data script works.
Names are kept as written for display and matched case-insensitively.
"""

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp

from core.data.english import plural_word, singular_word
from core.data.sqlparse import parse_problem, parse_sql

DIALECTS = (
    "postgres",
    "duckdb",
    "sqlite",
    "mysql",
    "tsql",
    "bigquery",
    "snowflake",
    "spark",
    "oracle",
    "trino",
)


class SchemaError(ValueError):
    """DDL that cannot be read. The message is meant for the user."""


@dataclass
class Schema:
    tables: dict[str, list[str]] = field(default_factory=dict)  # table name -> column names, as written
    ddl: str = ""

    def __bool__(self) -> bool:
        return bool(self.tables)

    def lookup(self) -> dict[str, set[str]]:
        """Lower-cased table -> lower-cased columns, for matching."""
        return {t.lower(): {c.lower() for c in cols} for t, cols in self.tables.items()}


def parse_schema(ddl: str, dialect: str = "postgres", name: str = "schema") -> Schema:
    """Tables and columns from CREATE TABLE statements. Raises SchemaError naming the problem."""
    if not ddl or not ddl.strip():
        return Schema()
    try:
        statements = parse_sql(ddl, dialect)
    except sqlglot.errors.SqlglotError as e:
        raise SchemaError(
            f"{name}: the DDL does not parse as {dialect} SQL ({parse_problem(e)[0]}). "
            "Check the statement there, or pick the dialect it is written in."
        ) from None
    tables: dict[str, list[str]] = {}
    for statement in statements:
        if not isinstance(statement, exp.Create) or (statement.args.get("kind") or "").upper() != "TABLE":
            continue
        target = statement.this
        table = target.this if isinstance(target, exp.Schema) else target
        if not isinstance(table, exp.Table):
            continue
        columns = (
            [c.name for c in target.expressions if isinstance(c, exp.ColumnDef)]
            if isinstance(target, exp.Schema)
            else []
        )
        tables[table.name] = columns
    if not tables:
        raise SchemaError(f"{name}: no CREATE TABLE statement found. Paste the DDL of your tables.")
    return Schema(tables, ddl)


def load_schema_file(path, dialect: str = "postgres") -> Schema:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise SchemaError(f"{path.name}: not UTF-8 text. Save it as UTF-8.") from None
    except OSError:
        raise SchemaError(f"{path.name}: the file cannot be opened.") from None
    return parse_schema(text, dialect, name=path.name)


KEY_CONSTRAINTS = (exp.PrimaryKeyColumnConstraint, exp.Reference)


def _is_key(node: exp.Expression) -> bool:
    """A table constraint that says how rows are told apart or joined: PRIMARY KEY, FOREIGN KEY ... REFERENCES."""
    return isinstance(node, (exp.PrimaryKey, exp.ForeignKey)) or (
        isinstance(node, exp.Constraint)
        and any(isinstance(e, (exp.PrimaryKey, exp.ForeignKey)) for e in node.expressions)
    )


def schema_ddl_only(schema: Schema, dialect: str = "postgres") -> str:
    """The CREATE TABLE statements alone, compact, to put in a prompt: column names and types and the keys (primary
    keys and the foreign keys that say how tables join), no INSERTs, comments or other constraints. Every prompt
    token costs training time, and the schema is most of the prompt."""
    if not schema.ddl:
        return ""
    kept = []
    for statement in parse_sql(schema.ddl, dialect):
        if not isinstance(statement, exp.Create) or not isinstance(statement.this, exp.Schema):
            continue
        statement = statement.copy()
        target = statement.this
        target.set(
            "expressions", [c for c in target.expressions if isinstance(c, exp.ColumnDef) or _is_key(c)]
        )
        for column in target.expressions:
            if isinstance(column, exp.ColumnDef):
                column.set(
                    "constraints",
                    [
                        c
                        for c in column.args.get("constraints") or []
                        if isinstance(c.args.get("kind"), KEY_CONSTRAINTS)
                    ],
                )
        kept.append(statement.sql(dialect=dialect, comments=False))
    return ";\n".join(kept) + (";" if kept else "")


@functools.lru_cache(maxsize=8)
def _tables_of(schema_text: str, dialect: str) -> tuple[tuple[str, tuple[str, ...], str], ...]:
    """(table, its columns, its CREATE TABLE) for each table of a compact schema, parsed once."""
    out = []
    for statement in parse_sql(schema_text, dialect):
        if isinstance(statement, exp.Create) and isinstance(statement.this, exp.Schema):
            target = statement.this
            columns = tuple(c.name for c in target.expressions if isinstance(c, exp.ColumnDef))
            out.append((target.this.name, columns, statement.sql(dialect=dialect, comments=False)))
    return tuple(out)


# How a "relevant" prompt tells that a question names a table or column: by the English singular and plural of its
# last word ("inflect"), or by the suffix rule prompts used before (+s, -s, -ies -> -y: "addresses" -> "addresse",
# "countrys"), which the prompt records of adapters trained with it say, so their prompts stay what they trained on.
PLURALS = ("inflect", "suffix")


@functools.lru_cache(maxsize=8192)
def _word_forms(name: str, plurals: str = "inflect") -> frozenset[str]:
    """How a question may mention a table or column: 'sale_date' -> {'sale_date', 'sale date', 'sale dates'},
    'people' -> {'people', 'person'}, 'address' -> {'address', 'addresses'}."""
    spaced = name.lower().replace("_", " ").strip()
    *head, last = spaced.split(" ")
    if plurals == "suffix":
        if last.endswith("ies"):
            others = [spaced[:-3] + "y"]
        else:
            others = [spaced[:-1] if last.endswith("s") else spaced + "s"]
    else:
        others = [" ".join([*head, word]) for word in (singular_word(last), plural_word(last))]
    return frozenset(f for f in (name.lower(), spaced, *others) if len(f) > 2)


def relevant_schema(
    question: str, schema_text: str, dialect: str = "postgres", plurals: str = "inflect"
) -> str:
    """The CREATE TABLEs of the tables a question mentions (by name, or by one of their columns' names, singular or
    plural, with spaces for underscores), or all of them when it mentions none. The same words at training and at
    inference: the gold SQL is never looked at, so a deployed model gets the prompt it was trained on (`plurals`:
    PLURALS, as the prompt record says)."""
    try:
        tables = _tables_of(schema_text, dialect)
    except sqlglot.errors.SqlglotError:
        return schema_text
    text = " " + re.sub(r"[^a-z0-9_]+", " ", question.lower()) + " "
    words = {w for w in text.split()}

    def mentioned(name: str) -> bool:
        forms = _word_forms(name, plurals)
        return any((f" {form} " in text) if " " in form else form in words for form in forms)

    kept = [
        sql
        for table, columns, sql in tables
        if mentioned(table) or any(mentioned(c) for c in columns if not c.lower().endswith("_id"))
    ]
    return ";\n".join(kept or [sql for _, _, sql in tables]) + ";"
