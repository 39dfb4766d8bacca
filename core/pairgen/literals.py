"""Values and SQL pieces the drafter and the templates share: a database value as a SQL literal (`literal`), a
threshold as people type it (`round_2`), a value as a date (`as_date`), the aggregate functions with their words
(AGGREGATES), and two questions the drafter asks (is a number column whole, how a dialect writes ORDER BY without
NULLS FIRST/LAST).
"""

import datetime
import decimal
import functools

from sqlglot import exp

from core.db.schema_info import Column
from core.pairgen.phrasing import join_words, spoken_value


@functools.lru_cache(maxsize=64)
def _plain_nulls(dialect: str, desc: bool):
    """The nulls_first value with which sqlglot writes no NULLS FIRST/LAST for this dialect and direction."""
    for value in (None, True, False):
        text = (
            exp.select("a")
            .from_("t")
            .order_by(exp.Ordered(this=exp.column("a"), desc=desc, nulls_first=value))
        )
        if "NULLS" not in text.sql(dialect=dialect):
            return value
    return None


def _whole(column: Column) -> bool:
    return all(
        isinstance(v, int) or (isinstance(v, (float, decimal.Decimal)) and float(v).is_integer())
        for v in column.examples
    )


def as_date(value) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:  # SQLite keeps dates as text
        return datetime.datetime.fromisoformat(str(value)).date()
    except ValueError:
        return None


def literal(value) -> exp.Expression:
    """A value from the database as a SQL literal (numbers stay numbers, dates become ISO strings)."""
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, float)):
        return exp.Literal.number(spoken_value(value))
    if isinstance(value, decimal.Decimal):
        return exp.Literal.number(format(value.normalize(), "f"))
    if isinstance(value, datetime.datetime):
        return exp.Literal.string(value.date().isoformat())
    if isinstance(value, datetime.date):
        return exp.Literal.string(value.isoformat())
    return exp.Literal.string(str(value))


def numeric(values) -> list:
    """The values that read as numbers (a numeric column of SQLite may hold '' or text in some rows)."""
    out = []
    for v in values:
        try:
            float(v)
        except (TypeError, ValueError):
            continue
        out.append(v)
    return out


def round_2(value):
    """Two significant digits, as people type thresholds (1719.96 -> 1700, 0.018186 -> 0.018); whole numbers under
    100 are kept as they are."""
    number = float(value)
    if number == 0 or (number.is_integer() and abs(number) < 100):
        return int(number)
    rounded = float(f"{number:.2g}")
    return int(rounded) if rounded.is_integer() else rounded


AGGREGATES = {  # function, words for the question
    "avg": (exp.Avg, ["average"]),  # Spider train: "average" 495 times, "mean" 17
    "sum": (exp.Sum, ["total", "sum of the"]),
    "min": (exp.Min, ["minimum", "lowest", "smallest"]),
    "max": (exp.Max, ["maximum", "highest", "largest"]),
}


def aggregate_words(rng, names) -> str:
    """ "average", "maximum and minimum": one word each when there are several ("the sum of the and highest" is no
    English)."""
    return join_words(
        [rng.choice([w for w in AGGREGATES[n][1] if len(names) == 1 or " " not in w]) for n in names]
    )
