"""The shape of a query: its SQL with every table, column and value abstracted, everything else kept.

    shape("SELECT name FROM singer WHERE age > 30")   # 'SELECT c FROM t WHERE c > 0'

Two queries of one shape ask the same kind of question of different tables. The generator uses shapes to spread its
pairs over many kinds of question (core.pairgen.generator), and bench/generator_coverage.py to compare them with
the shapes of people's questions.
"""

import re

import sqlglot
from sqlglot import exp


def _unparen(node: exp.Expression):
    if isinstance(node, exp.Paren) and (
        isinstance(node.this, (exp.Column, exp.Literal)) or isinstance(node.parent, exp.Where)
    ):  # DISTINCT(c) is DISTINCT c; WHERE (c = 1) is WHERE c = 1
        return node.this
    return node


def _abstract(node: exp.Expression):
    if isinstance(node, exp.Table):
        return exp.Table(this=exp.to_identifier("t"))
    if isinstance(node, exp.Column):
        return exp.Star() if isinstance(node.this, exp.Star) else exp.Column(this=exp.to_identifier("c"))
    if isinstance(node, exp.Literal):
        return exp.Literal.string("v") if node.is_string else exp.Literal.number(0)
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
        return exp.Literal.number(0)
    if isinstance(node, exp.Alias):
        return node.this
    if isinstance(node, exp.TableAlias):
        return None
    return node


def tree_shape(tree: exp.Expression, dialect: str = "sqlite") -> str:
    # one copy, transformed in place twice (the caller's tree stays as it was)
    abstract = tree.copy().transform(_unparen, copy=False).transform(_abstract, copy=False)
    text = abstract.sql(dialect=dialect).replace('"', "")
    return re.sub(r" ASC| NULLS (LAST|FIRST)", "", text)  # ORDER BY c and ORDER BY c ASC are one shape


def shape(sql: str, dialect: str = "sqlite") -> str | None:
    """The SQL with identifiers and values abstracted; None when it does not parse."""
    try:
        return tree_shape(sqlglot.parse_one(sql, read=dialect), dialect)
    except sqlglot.errors.SqlglotError:
        return None
