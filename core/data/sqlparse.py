"""sqlglot, guarded: every failure of the parser on hostile or odd text becomes a sqlglot `ParseError`.

sqlglot is a hand-written parser; on some inputs (e.g. `SELECT a ? FROM t` in postgres, or thousands of nested
parentheses) it raises TypeError or RecursionError instead of its own errors. Callers catch
`sqlglot.errors.SqlglotError` and report "does not parse"; these wrappers make that catch complete.
"""

import threading

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.tokens import Token

# Internal crashes seen (or possible) inside sqlglot on hostile text.
_PARSER_CRASHES = (TypeError, ValueError, AttributeError, IndexError, KeyError, RecursionError, AssertionError)


def _guarded(call):
    try:
        return call()
    except SqlglotError:
        raise
    except _PARSER_CRASHES as e:
        raise ParseError(f"the SQL parser cannot read this text ({type(e).__name__})") from None


def parse_sql(text: str, dialect: str) -> list[exp.Expression | None]:
    """sqlglot.parse, with this thread's tokenizer and parser; raises ParseError (a SqlglotError) for anything the
    parser cannot handle."""
    return parse_tokens(tokenize_sql(text, dialect), text, dialect)


def parse_one_sql(text: str, dialect: str) -> exp.Expression:
    return _guarded(lambda: sqlglot.parse_one(text, read=dialect))


# A dialect's tokenizer and parser, made once per thread: making them costs a third of tokenizing a short query,
# and each keeps its state while it runs (both reset it at the start of a call).
_per_thread = threading.local()


def _tokenizer_and_parser(dialect: str):
    made = _per_thread.__dict__.setdefault("made", {})
    if dialect not in made:
        instance = Dialect.get_or_raise(dialect)
        made[dialect] = instance.tokenizer(), instance.parser()
    return made[dialect]


def tokenize_sql(text: str, dialect: str) -> list[Token]:
    """The dialect's tokens of `text`; raises a SqlglotError as parse_sql does."""
    return _guarded(lambda: _tokenizer_and_parser(dialect)[0].tokenize(text))


def parse_tokens(tokens: list[Token], text: str, dialect: str) -> list[exp.Expression | None]:
    """parse_sql of tokens from tokenize_sql(text), without tokenizing again."""
    return _guarded(lambda: _tokenizer_and_parser(dialect)[1].parse(tokens, text))


def transpile_sql(text: str, source: str, target: str) -> str:
    try:
        return sqlglot.transpile(text, read=source, write=target)[0]
    except SqlglotError:
        raise
    except _PARSER_CRASHES as e:
        raise ParseError(f"the SQL cannot be translated ({type(e).__name__})") from None
