"""sqlglot, guarded: every failure of the parser on hostile or odd text becomes a sqlglot `ParseError`.

sqlglot is a hand-written parser; on some inputs (e.g. `SELECT a ? FROM t` in postgres, or thousands of nested
parentheses) it raises TypeError or RecursionError instead of its own errors. Callers catch
`sqlglot.errors.SqlglotError` and report "does not parse"; these wrappers make that catch complete.
"""

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError

# Internal crashes seen (or possible) inside sqlglot on hostile text.
_PARSER_CRASHES = (TypeError, ValueError, AttributeError, IndexError, KeyError, RecursionError, AssertionError)


def _guarded(parse, text: str, dialect: str):
    try:
        return parse(text, read=dialect)
    except SqlglotError:
        raise
    except _PARSER_CRASHES as e:
        raise ParseError(f"the SQL parser cannot read this text ({type(e).__name__})") from None


def parse_sql(text: str, dialect: str) -> list[exp.Expression | None]:
    """sqlglot.parse; raises ParseError (a SqlglotError) for anything the parser cannot handle."""
    return _guarded(sqlglot.parse, text, dialect)


def parse_one_sql(text: str, dialect: str) -> exp.Expression:
    return _guarded(sqlglot.parse_one, text, dialect)


def transpile_sql(text: str, source: str, target: str) -> str:
    try:
        return sqlglot.transpile(text, read=source, write=target)[0]
    except SqlglotError:
        raise
    except _PARSER_CRASHES as e:
        raise ParseError(f"the SQL cannot be translated ({type(e).__name__})") from None
