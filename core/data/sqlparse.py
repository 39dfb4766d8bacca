"""sqlglot, guarded: every failure of the parser on hostile or odd text becomes a sqlglot `ParseError`.

sqlglot is a hand-written parser; on some inputs (e.g. `SELECT a ? FROM t` in postgres, or thousands of nested
parentheses) it raises TypeError or RecursionError instead of its own errors. Callers catch
`sqlglot.errors.SqlglotError` and report "does not parse"; these wrappers make that catch complete.

`parse_problem` says what a sqlglot error means in the user's words ("incomplete condition after AND near line 1,
column 29", "unbalanced parentheses", "unterminated string"), never with sqlglot's internals (class names such as
<class 'sqlglot.expressions.core.And'>, token dumps, ANSI underlines).
"""

import re
import threading

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.tokens import Token

# Internal crashes seen (or possible) inside sqlglot on hostile text.
_PARSER_CRASHES = (
    TypeError,
    ValueError,
    AttributeError,
    IndexError,
    KeyError,
    RecursionError,
    AssertionError,
)


def _guarded(call):
    try:
        return call()
    except SqlglotError:
        raise
    except _PARSER_CRASHES:
        # the crash's type names sqlglot's internals, not anything the user wrote: it stays out of the message
        raise ParseError("the SQL parser cannot read this text") from None


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
    except _PARSER_CRASHES:
        raise ParseError("the SQL cannot be translated") from None


# ---- sqlglot's errors in plain words ----

DEFAULT_FIX = "correct the SQL, or pick the dialect it is written in"
_CONDITIONS = {"And": "AND", "Or": "OR", "Xor": "XOR", "Not": "NOT"}
_COMPARISONS = {
    "EQ": "=",
    "NEQ": "<>",
    "GT": ">",
    "GTE": ">=",
    "LT": "<",
    "LTE": "<=",
    "NullSafeEQ": "<=>",
    "NullSafeNEQ": "IS DISTINCT FROM",
    "Like": "LIKE",
    "ILike": "ILIKE",
    "Glob": "GLOB",
    "SimilarTo": "SIMILAR TO",
    "RegexpLike": "REGEXP",
    "Is": "IS",
    "In": "IN",
}
_ARITHMETIC = {
    "Add": "+",
    "Sub": "-",
    "Mul": "*",
    "Div": "/",
    "IntDiv": "DIV",
    "Mod": "%",
    "DPipe": "||",
    "BitwiseAnd": "&",
    "BitwiseOr": "|",
    "BitwiseXor": "^",
}
_CLAUSES = {
    "Where": "WHERE without a condition",
    "Having": "HAVING without a condition",
    "Order": "ORDER BY without anything to sort by",
    "Group": "GROUP BY without anything to group by",
    "Limit": "LIMIT without a number",
    "Offset": "OFFSET without a number",
    "Fetch": "FETCH without a number",
    "Between": "incomplete BETWEEN (it needs BETWEEN low AND high)",
    "Cast": "incomplete CAST",
    "Case": "incomplete CASE",
    "If": "incomplete CASE WHEN",
    "Join": "JOIN without a table",
    "Union": "UNION without a second query",
    "Intersect": "INTERSECT without a second query",
    "Except": "EXCEPT without a second query",
}
_QUOTES = {
    "'": ("unterminated string", "close the string with ' (write '' for a quote inside it)"),
    '"': ("unterminated quoted name", 'close the name with "'),
    "`": ("unterminated quoted name", "close the name with `"),
    "]": ("unterminated [name]", "close the name with ]"),
}


def parse_problem(error: Exception) -> tuple[str, str]:
    """(problem, how to fix) for an error of parse_sql/tokenize_sql, in plain words with the line and column where
    sqlglot gives them."""
    if isinstance(error, ParseError) and error.errors:
        return _parse_problem(error.errors[0])
    if isinstance(error, SqlglotError) and "tokeniz" in str(error).lower():
        return _token_problem(error)
    return _plain(
        str(error).splitlines()[0] if str(error) else "the SQL parser cannot read this text"
    ), DEFAULT_FIX


def _parse_problem(details: dict) -> tuple[str, str]:
    description = str(details.get("description") or "")
    highlight = str(details.get("highlight") or "").strip()
    where = _where(details.get("line"), details.get("col"), highlight)
    missing = re.match(r"Required keyword: '\w+' missing for <class '[\w.]*?(\w+)'>", description)
    if missing:
        return _missing(missing.group(1), highlight, where)
    if description.startswith("Invalid expression / Unexpected token"):
        if highlight == ")":
            return f"unbalanced parentheses: a ')' without its '('{where}", "remove the extra ) or add its ("
        return (
            f"unexpected '{highlight}'{where}",
            "correct the SQL there, or pick the dialect it is written in",
        )
    if description.startswith(("Expecting )", "Expected )")):
        return f"unbalanced parentheses: a '(' is not closed{where}", "close every ( with a )"
    if description.startswith("Expected END after CASE"):
        return f"CASE without END{where}", "end the CASE expression with END"
    return f"{_plain(description)}{where}", DEFAULT_FIX


def _missing(kind: str, highlight: str, where: str) -> tuple[str, str]:
    """sqlglot's "Required keyword: 'expression' missing for <class '...And'>": what is incomplete."""
    if kind in _CONDITIONS:
        word = _CONDITIONS[kind]
        return (
            f"incomplete condition after {word}{where}",
            f"finish the condition after {word}, or remove the {word}",
        )
    if kind in _COMPARISONS:
        op = _COMPARISONS[kind]
        return (
            f"incomplete comparison: nothing to compare with after {op}{where}",
            f"add the value after {op}",
        )
    if kind in _ARITHMETIC:
        op = _ARITHMETIC[kind]
        return f"a value is missing after {op}{where}", f"add the value after {op}, or remove the {op}"
    if kind in _CLAUSES:
        return f"{_CLAUSES[kind]}{where}", "finish that part of the query, or remove it"
    return f"something is missing after '{highlight}'{where}", DEFAULT_FIX


def _where(line, col, highlight: str) -> str:
    """' near line L, column C', C being where the token starts (sqlglot gives the column where it ends)."""
    if not isinstance(line, int) or not isinstance(col, int):
        return ""
    start = col - len(highlight) + 1 if highlight and "\n" not in highlight and col >= len(highlight) else col
    return f" near line {line}, column {max(start, 1)}"


def _token_problem(error: Exception) -> tuple[str, str]:
    """The tokenizer stopped: an unclosed quote (its own error, "Missing ' from 1:7", is the cause) or comment."""
    cause = error.__cause__ or error.__context__
    missing = re.match(r"Missing (\S+) from (\d+):(\d+)", str(cause or ""))
    if missing:
        quote, line, col = missing.group(1), int(missing.group(2)), int(missing.group(3)) + 1
        problem, fix = _QUOTES.get(quote, (f"unterminated {quote}...{quote} text", f"close it with {quote}"))
        return f"{problem} starting near line {line}, column {col}", fix
    text = str(error)
    if "/*" in text and "*/" not in text[text.index("/*") :]:
        return "unterminated comment: a /* without its */", "close the comment with */"
    return "the text cannot be split into SQL words (a quote or comment may not be closed)", DEFAULT_FIX


def _plain(text: str) -> str:
    """A sqlglot message without its internals: class names as their last part, tokens as their text, no ANSI
    underlines, no 'Line 1, Col: 5.' tail (callers give the position their own way)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    text = re.sub(r"<class '[\w.]*?(\w+)'>", r"\1", text)
    text = re.sub(r"<Token token_type: TokenType\.SENTINEL[^>]*>", "the end of the SQL", text)
    text = re.sub(r"<Token token_type: [\w.]+, text: (.*?), line: \d+.*?>", r"'\1'", text)
    text = re.sub(r"\.?\s*Line \d+, Col: \d+\.?$", "", text).strip()
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text
