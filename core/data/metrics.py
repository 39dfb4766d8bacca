"""Text-to-SQL metrics: pull the SQL out of a model's answer, compare execution results, normalise SQL.

Execution match follows BIRD/Spider: result rows equal as multisets, in order only when the gold query has
ORDER BY; column names ignored; numbers equal within a small tolerance; NULL equals NULL.
"""

import datetime
import decimal
import re
from collections import Counter

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

from core.data.sqlparse import parse_one_sql, parse_sql

FLOAT_DIGITS = 4  # numbers are compared after rounding to this many decimals (relative for large values)
_FENCE = re.compile(r"```(?:sql|postgresql|postgres|sqlite|duckdb)?\s*\n?(.*?)(?:```|$)", re.S | re.I)
_START = re.compile(r"\b(SELECT|WITH)\b", re.I)


def extract_sql(text: str) -> str:
    """The SQL in a model's answer: inside code fences if any, else from the first SELECT/WITH, up to the
    first ';', blank line or end-of-turn marker."""
    if not text:
        return ""
    text = text.replace("<|im_end|>", "\n\n").replace("<|endoftext|>", "\n\n")
    fenced = _FENCE.search(text)
    if fenced and _START.search(fenced.group(1)):
        text = fenced.group(1)
    start = _START.search(text)
    if not start:
        return text.strip().split("\n\n")[0].strip().rstrip(";").strip()
    sql = text[start.start() :]
    sql = re.split(r";|\n\s*\n|```", sql, maxsplit=1)[0]
    return sql.strip()


def _norm(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float, decimal.Decimal)):
        f = float(value)
        if f != f:  # NaN
            return "nan"
        if abs(f) >= 1e6:  # relative tolerance for big numbers
            return float(f"{f:.{FLOAT_DIGITS + 3}e}")
        return round(f, FLOAT_DIGITS) + 0.0
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def normalise_rows(rows) -> list[tuple]:
    return [tuple(_norm(v) for v in row) for row in rows]


def has_order_by(sql: str, dialect: str = "postgres") -> bool:
    """True when the outermost query orders its rows."""
    try:
        tree = parse_one_sql(sql, dialect)
    except sqlglot.errors.SqlglotError:
        return bool(re.search(r"\border\s+by\b", sql, re.I))
    return tree is not None and tree.args.get("order") is not None


def results_match(gold_rows, pred_rows, ordered: bool) -> bool:
    gold, pred = normalise_rows(gold_rows), normalise_rows(pred_rows)
    if ordered:
        return gold == pred
    return Counter(gold) == Counter(pred)


def normalise_sql(sql: str, dialect: str = "postgres") -> str:
    """Canonical text for exact match: parsed and re-rendered by sqlglot (keywords and function names in one
    case, one spacing), identifiers normalised as the dialect resolves them (unquoted ones fold to its case;
    quoted ones too where the dialect ignores case), and literals kept as written: 'Paris' is not 'PARIS'."""
    try:
        tree = parse_one_sql(sql, dialect)
        if tree is None:
            return ""
        # every identifier quoted: once folded, `"name"` and `name` are the same name, so render them alike
        return normalize_identifiers(tree, dialect=dialect).sql(
            dialect=dialect, identify=True, comments=False
        )
    except sqlglot.errors.SqlglotError:  # not SQL: compare the text with its spacing collapsed
        return " ".join(sql.replace(";", " ").split())


def parses(sql: str, dialect: str = "postgres") -> bool:
    try:
        trees = parse_sql(sql, dialect)
        # a statement, not a bare word: sqlglot reads "SELEC" as a column name
        return bool(trees) and all(isinstance(t, (exp.Query, exp.DML, exp.DDL, exp.Drop)) for t in trees)
    except sqlglot.errors.SqlglotError:
        return False
