"""One condition on a real value of a table's column, with its words: an equality on a category or a name ("named
Linda Smith", "from France", "in 2014"), a comparison with a threshold rounded as people type it ("above 200"), or a
word the text contains. The templates and core.pairgen.templates.conditions (which combines up to two of these and
relates them to a joined scope) ask for them; the kinds and how often each is drawn follow Spider train's questions.
"""

import datetime
import decimal
import re

from sqlglot import exp

from core.db.schema_info import Column, Table
from core.pairgen.draft import Drafter
from core.pairgen.literals import _whole, as_date, literal, round_2
from core.pairgen.phrasing import PLACE_WORDS, is_or_are, name_part, spoken_value
from core.pairgen.scope import Condition

# Of Spider train's questions that match a person's first or last name, 65% give both (153 of 235): "the student
# named Linda Smith" is one condition of two equalities on one row.
FULL_NAME = 0.65


def condition(
    d: Drafter,
    table: Table,
    alias: str | None = None,
    kinds: tuple[str, ...] = ("eq", "cmp", "like", "person"),
    avoid: tuple = (),
    row: tuple | None = None,
) -> Condition | None:
    """A condition on a real value of one of the table's columns: equality on a category or a name (people ask
    that most), a comparison with a rounded number, or a word the text contains. With `row` (one of the table's
    sample rows), an equality takes that row's value, so two conditions from one row find it. With "person" in
    `kinds`, an equality on a first or last name is often the whole name (FULL_NAME)."""
    # (kind, column, weight): how often Spider train's human questions filter that way: equality on text
    # most, comparisons on numbers (a number is compared far more often than matched), LIKE and keys seldom
    options = []
    if "eq" in kinds:
        options += [("eq", c, 3.0) for c in d.texts(table)]
        options += [("eq", c, 1.0) for c in d.numbers(table) if _whole(c)]
        options += [
            ("eq", c, 0.5) for c in table.columns if d.is_key(table, c) and c.examples and not c.primary_key
        ]
    if "cmp" in kinds:
        options += [("cmp", c, 2.0) for c in d.numbers(table) + d.dates(table)]
    if "like" in kinds:
        options += [("like", c, 0.4) for c in d.texts(table) if c.distinct >= 3]
    options = [(k, c, w) for k, c, w in options if c not in avoid or k == "like"]  # "names that contain ..."
    if not options:
        return None
    kind, column, _ = d.rng.choices(options, weights=[w for *_, w in options])[0]
    ref = d.col(column, alias)
    words = d.words(column)
    if kind == "eq":
        pair = d.name_pair(table) if row is None and "person" in kinds else None
        if (
            pair
            and any(column is c for c in pair)
            and not any(a is c for a in avoid for c in pair)
            and d.rng.random() < FULL_NAME
        ):
            return _full_name(d, table, alias, *pair)
        value = d.pick(column.examples)
        if row is not None and row[table.columns.index(column)] is not None:
            value = row[table.columns.index(column)]
        negate = row is None and d.rng.random() < 0.05
        expr = (exp.NEQ if negate else exp.EQ)(this=ref, expression=literal(value))
        v = spoken_value(value)
        said = [
            f"whose {words} {is_or_are(words)} {'not ' if negate else ''}{v}",
            f"with {words} {'other than ' if negate else ''}{v}",
        ]
        if not negate and words.split()[-1] == "name" and name_part(column.name) is None:
            # "the club named Tennis Club": Spider train says "named" 125 times, "with name" 36, "called" 20,
            # "whose name is" once
            said = [f"named {v}", f"named {v}", f"named {v}", f"called {v}", said[1], said[0]]
        elif not negate:  # as people say it: "singers from France", "concerts in 2014"
            last = words.split()[-1]
            if last in PLACE_WORDS and isinstance(value, str):
                said.append(f"from {v}")
            elif last == "year" and isinstance(value, int):
                said.append(f"in {v}")
            elif last == "date" or column.kind == "date":  # Spider train never says "whose date is"
                said = [f"on {v}", said[1]]
        text = d.rng.choice(said)
        return Condition(expr, table, column, text)
    if kind == "like":
        found = [
            w for v in column.examples if isinstance(v, str) for w in v.split() if len(w) >= 3 and w.isalpha()
        ]
        word = d.pick(found)
        if word is None:
            return None
        return Condition(
            exp.Like(this=ref, expression=literal(f"%{word}%")),
            table,
            column,
            d.rng.choice([f"whose {words} contains '{word}'", f"with '{word}' in their {words}"]),
        )
    value = threshold(d, column)
    if value is None:
        return None
    op = d.weighted({"gt": 12, "lt": 5, "between": 3.5, "gte": 1.3, "lte": 0.6})
    v = spoken_value(value)
    if op == "between":
        high = threshold(d, column)
        if high is None or high == value:
            return None
        low, high = sorted([value, high])
        expr = exp.Between(this=ref, low=literal(low), high=literal(high))
        return Condition(
            expr,
            table,
            column,
            f"{_whose(column, words)} between {spoken_value(low)} and {spoken_value(high)}",
        )
    cls, said = {
        "gt": (exp.GT, ["greater than", "more than", "above", "over", "higher than"]),
        "lt": (exp.LT, ["less than", "below", "under", "lower than"]),
        "gte": (exp.GTE, ["at least"]),
        "lte": (exp.LTE, ["at most"]),
    }[op]
    if column.kind == "date":
        said = {"gt": ["after"], "lt": ["before"], "gte": ["on or after"], "lte": ["on or before"]}[op]
    return Condition(
        cls(this=ref, expression=literal(value)),
        table,
        column,
        f"{_whose(column, words)} {d.rng.choice(said)} {v}",
    )


def _whose(column: Column, words: str) -> str:
    """ "whose price is", or for a date named by a verb, "that started": never "whose started is"."""
    if column.kind == "date" and re.fullmatch(r"[a-z]{3,}ed", words):
        return f"that {words}"
    return f"whose {words} {is_or_are(words)}"


def _full_name(d: Drafter, table: Table, alias: str | None, first: Column, last: Column) -> Condition | None:
    """ "named Linda Smith": the first and last name of one sampled row."""
    i, j = table.columns.index(first), table.columns.index(last)
    row = d.pick([r for r in table.sample if isinstance(r[i], str) and isinstance(r[j], str)])
    if row is None:
        return None
    given, family = spoken_value(row[i]), spoken_value(row[j])
    expr = exp.and_(
        exp.EQ(this=d.col(first, alias), expression=literal(row[i])),
        exp.EQ(this=d.col(last, alias), expression=literal(row[j])),
    )
    said = [
        f"named {given} {family}",
        f"whose {d.words(first)} is {given} and {d.words(last)} is {family}",
        f"with {d.words(first)} {given} and {d.words(last)} {family}",
    ]
    return Condition(expr, table, first, d.rng.choice(said))


def threshold(d: Drafter, column: Column):
    """A value to compare with: a real one, rounded as people type thresholds (1719.96 -> 1700)."""
    value = d.pick(column.examples)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float, decimal.Decimal)):
        return round_2(value)
    if isinstance(value, (datetime.date, datetime.datetime)) or column.kind == "date":
        day = as_date(value)
        return day.isoformat() if day else None
    return None
