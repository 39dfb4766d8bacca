"""Identifiers as sqlglot expressions, quoted only where the dialect needs it.

Generated SQL should read like a person wrote it (`SELECT name FROM singer`), so names are left bare unless they
must be quoted: a reserved word (`order`), a name that is not a plain identifier (`unit price`), or, in
PostgreSQL, a name with capitals (which a bare name would fold to lower case).
"""

import re
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# SQL-92 reserved words that some parsers accept as names but databases refuse (or read differently).
_RESERVED = {
    "all",
    "and",
    "as",
    "asc",
    "between",
    "by",
    "case",
    "check",
    "column",
    "constraint",
    "create",
    "cross",
    "default",
    "delete",
    "desc",
    "distinct",
    "drop",
    "else",
    "end",
    "except",
    "exists",
    "false",
    "foreign",
    "from",
    "full",
    "group",
    "having",
    "in",
    "index",
    "inner",
    "insert",
    "intersect",
    "into",
    "is",
    "join",
    "key",
    "left",
    "like",
    "limit",
    "natural",
    "not",
    "null",
    "offset",
    "on",
    "or",
    "order",
    "outer",
    "primary",
    "references",
    "right",
    "select",
    "set",
    "table",
    "then",
    "to",
    "true",
    "union",
    "unique",
    "update",
    "user",
    "using",
    "values",
    "when",
    "where",
    "with",
}


@lru_cache(maxsize=8192)
def needs_quotes(name: str, dialect: str) -> bool:
    if not _PLAIN.fullmatch(name) or name.lower() in _RESERVED:
        return True
    if dialect == "postgres" and name != name.lower():
        return True
    if name.lower() in getattr(Dialect.get_or_raise(dialect).generator_class, "RESERVED_KEYWORDS", set()):
        return True
    try:  # the dialect's parser must read the bare name back as that column and that table
        tree = sqlglot.parse_one(f"SELECT {name} FROM {name}", read=dialect)
    except Exception:  # noqa: BLE001 - any failure to read it back means: quote it
        return True
    column = tree.find(exp.Column)
    return not (
        isinstance(tree, exp.Select)
        and column is not None
        and column.name == name
        and tree.find(exp.Table) is not None
        and tree.find(exp.Table).name == name
    )


def ident(name: str, dialect: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=needs_quotes(name, dialect))


def table_ref(name: str, dialect: str, alias: str | None = None) -> exp.Table:
    table = exp.Table(this=ident(name, dialect))
    return exp.alias_(table, alias, table=True) if alias else table


def column_ref(name: str, dialect: str, table: str | None = None) -> exp.Column:
    return exp.Column(this=ident(name, dialect), table=exp.to_identifier(table) if table else None)
