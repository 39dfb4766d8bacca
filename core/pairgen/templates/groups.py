"""Pair templates over the groups of one table: each value of a category with the number of its rows (or an
aggregate of a number), the most (or least) common value, and the values shared by at least N rows (HAVING). Built
as the templates of rows.py are (a sqlglot expression from real values, two or three wordings), with the conditions
of conditions.py; drawn with the weights of core.pairgen.generator.WEIGHTS.
"""

from sqlglot import exp

from core.pairgen.draft import Drafter
from core.pairgen.literals import AGGREGATES, aggregate_words, literal
from core.pairgen.phrasing import article, is_or_are, spoken_value
from core.pairgen.scope import Draft, Scope
from core.pairgen.templates.conditions import conditions, count_condition, where
from core.pairgen.templates.filters import threshold


def group_count(d: Drafter) -> Draft | None:
    """Each value of a category with the number of rows (or an aggregate of a number) that have it."""
    table, categories = d.pick(d.tables_with(d.categories)) or (None, None)
    if table is None:
        return None
    column = d.pick(categories)
    scope = Scope([table])
    conds, said, joiner = conditions(d, scope, d.weighted({0: 75, 1: 25}), avoid=[column], person=False)
    many, c = d.nouns(table)[1], d.words(column)
    numbers = [n for n in d.numbers(table) if n is not column]
    if numbers and d.rng.random() < 0.3:
        number = d.pick(numbers)
        names = d.weighted(
            {
                ("avg",): 24,
                ("sum",): 16,
                ("max",): 6,
                ("min",): 4,
                ("max", "min"): 5,
                ("avg", "min"): 2,
                ("avg", "max", "min"): 2,
            }
        )
        values = [AGGREGATES[n][0](this=d.col(number)) for n in d.rng.sample(names, len(names))]
        if len(names) == 1 and d.rng.random() < 0.1:
            values = [exp.Count(this=exp.Star()), *values]  # "the number and the total of ..."
        parts = [d.col(column), *values] if d.rng.random() < 0.6 else [*values, d.col(column)]
        query = where(d.from_(scope, *parts), conds, joiner).group_by(d.col(column))
        f = aggregate_words(d.rng, names)
        return Draft(
            "group_aggregate",
            d.say(
                kind="group",
                phrasings=[
                    "What is the {f} {n} of {s} for each {c}?",
                    "Show each {c} and the {f} {n} of {s} with it.",
                    "For each {c}, what is the {f} {n} of {s}?",
                    "Find the {f} {n} of {s} for each {c}.",
                    "List the {f} {n} of {s} per {c}.",
                ],
                f=f,
                n=d.words(number),
                s=many + said,
                c=c,
            ),
            query,
        )
    counted = exp.Star()
    others = [c for c in d.shown(table) if c is not column and 1 < c.distinct]
    if others and d.rng.random() < 0.08:  # "the number of different products of each category"
        other = d.pick(others)
        counted = exp.Distinct(expressions=[d.col(other)])
        many = f"different {d.words_plural(other)} of {many}"
    count = exp.Count(this=counted)
    parts = [d.col(column), count] if d.rng.random() < 0.8 else [count, d.col(column)]
    query = where(d.from_(scope, *[p.copy() for p in parts]), conds, joiner).group_by(d.col(column))
    if d.rng.random() < 0.18:  # "... in descending order of the count"
        query = query.order_by(d.ordered(count.copy(), d.rng.random() < 0.7))
    return Draft(
        "group_count",
        d.say(
            kind="group",
            phrasings=[
                "How many {s} are there for each {c}?",
                "Show each {c} and the number of {s} with it.",
                "Count the number of {s} for each {c}.",
                "What is the number of {s} for each {c}?",
                "List all {cs} and the number of {s} in each.",
                "How many {s} does each {c} have?",
                "Show the {cs} and the number of {s} for each.",
                "What are the {cs} and the number of {s} for each?",
            ],
            s=many + said,
            c=c,
            cs=d.words_plural(column),
        ),
        query,
    )


def most_common(d: Drafter) -> Draft | None:
    """The category value most (or fewest) rows have, maybe among rows that meet a condition; or the one with the
    highest average (total) of a number; or the three most common."""
    table, categories = d.pick(d.tables_with(d.categories)) or (None, None)
    if table is None:
        return None
    column, most = d.pick(categories), d.rng.random() < 0.85
    scope = Scope([table])
    conds, said, joiner = conditions(d, scope, d.weighted({0: 80, 1: 20}), avoid=[column], person=False)
    c, s = d.words(column), d.nouns(table)[1] + said
    numbers = [n for n in d.numbers(table) if n is not column]
    if numbers and d.rng.random() < 0.15:  # "the zip code with the lowest average pressure"
        number, name = d.pick(numbers), d.weighted({"avg": 3, "sum": 2})
        func, fwords = AGGREGATES[name]
        shown = [d.col(column)] + ([func(this=d.col(number))] if d.rng.random() < 0.3 else [])
        query = where(d.from_(scope, *shown), conds, joiner).group_by(d.col(column))
        query = query.order_by(d.ordered(func(this=d.col(number)), most)).limit(1)
        hl = "highest" if most else "lowest"
        return Draft(
            "most_common",
            d.say(
                [
                    "Which {c} has the {hl} {f} {n}? Give it with that {f} {n}.",
                    "What is the {c} with the {hl} {f} {n} of {s}, and what is that {f} {n}?",
                    "Find the {c} whose {s} have the {hl} {f} {n}, and the {f} {n} itself.",
                ]
                if len(shown) > 1
                else [
                    "Which {c} has the {hl} {f} {n}?",
                    "What is the {c} with the {hl} {f} {n} of {s}?",
                    "Find the {c} whose {s} have the {hl} {f} {n}.",
                ],
                c=c,
                hl=hl,
                f=fwords[0]
                if len(shown) > 1
                else d.rng.choice(fwords),  # "that total", not "that sum of the"
                n=d.words(number),
                s=s,
            ),
            query,
        )
    count = exp.Count(this=exp.Star())
    label = d.label(table)
    if not conds and label is not None and label is not column and d.rng.random() < 0.06:
        # "the names of the singers from the most common country": the rows whose value is the most common one
        common = (
            d.from_(scope, d.col(column)).group_by(d.col(column)).order_by(d.ordered(count, True)).limit(1)
        )
        query = d.from_(scope, d.col(label)).where(
            exp.EQ(this=d.col(column), expression=exp.Subquery(this=common))
        )
        return Draft(
            "most_common",
            d.say(
                [
                    "What are the {ls} of the {s} whose {c} {is_} the most common?",
                    "What are the {ls} of {s} with the most common {c}?",
                    "Find the {ls} of the {s} that have the most common {c}.",
                ],
                ls=d.words_plural(label),
                s=s,
                c=c,
                is_=is_or_are(c),
            ),
            query,
        )
    with_count = d.rng.random() < 0.15
    n = d.weighted({1: 88, 3: 9, 0: 3})  # 0: every value, the most common first (no LIMIT)
    with_count = with_count and n != 0  # group_count shows every value with its count
    query = where(d.from_(scope, d.col(column), *([count.copy()] if with_count else [])), conds, joiner)
    query = query.group_by(d.col(column)).order_by(d.ordered(count, most or n == 0))
    query = query.limit(n) if n else query
    m, mc = ("most", "most common") if most else ("fewest", "least common")
    if n == 0:
        return Draft(
            "most_common",
            d.say(
                [
                    "What are the {cs} of {s}, from the most common to the least common?",
                    "What are the {cs} of {s}, ordered by how many {s1} have each, most first?",
                    "List the {cs} of {s} by how often they occur, most frequent first.",
                ],
                cs=d.words_plural(column),
                s=s,
                s1=d.nouns(table)[1],
            ),
            query,
        )
    if n > 1:
        return Draft(
            "most_common",
            d.say(
                [
                    "What are the {n} {mc} {cs} of {s}?",
                    "List the {n} {mc} {cs} among {s}.",
                    "Show the {n} {cs} with the {m} {s}.",
                ],
                n=n,
                mc=mc,
                m=m,
                cs=d.words_plural(column),
                s=s,
            ),
            query,
        )
    if with_count:
        return Draft(
            "most_common",
            d.say(
                [
                    "What is the {mc} {c} of {s}, and how many {s1} have it?",
                    "Show the {c} with the {m} {s} and their number.",
                    "Which {c} has the {m} {s}? Give it with the count.",
                ],
                mc=mc,
                m=m,
                c=c,
                s=s,
                s1=d.nouns(table)[1],
            ),
            query,
        )
    return Draft(
        "most_common",
        d.say(
            [
                "Which {c} has the {m} {s}?",
                "What is the {mc} {c} among {s}?",
                "Find the {c} with the {m} {s}.",
                "Which {c} do the {m} {s} have?",
                "What is the {c} that the {m} {s} have?",
                "Show the {mc} {c} of all {s}.",
            ],
            c=c,
            m=m,
            mc=mc,
            s=s,
        ),
        query,
    )


def having(d: Drafter) -> Draft | None:
    """The category values shared by at least (or more than) N rows."""
    table, categories = d.pick(d.tables_with(d.categories)) or (None, None)
    if table is None or table.rows < 4:
        return None
    column = d.pick(categories)
    key = d.key(table)
    cond, n = count_condition(
        d, d.col(key) if key is not None and key.primary_key and not key.nulls else None
    )
    scope = Scope([table])
    numbers = [x for x in d.numbers(table) if x is not column]
    if numbers and d.rng.random() < 0.2:  # "the zip codes whose average temperature is above 60"
        number, name = d.pick(numbers), d.weighted({"avg": 5, "sum": 3, "max": 1, "min": 1})
        func, fwords = AGGREGATES[name]
        value, above = threshold(d, number), d.rng.random() < 0.83
        if value is None:
            return None
        # "at least" too: Spider train's HAVINGs on an aggregate compare with > 35 times, >= 11, < 8
        compare, words = (exp.GT, "above") if d.rng.random() < 0.76 else (exp.GTE, "at least")
        compare, words = (compare, words) if above else (exp.LT, "below")
        query = (
            d.from_(scope, d.col(column))
            .group_by(d.col(column))
            .having(compare(this=func(this=d.col(number)), expression=literal(value)))
        )
        return Draft(
            "having",
            d.say(
                [
                    "Which {cs} have {fa} {nb} of {s} {ab} {v}?",
                    "List the {cs} whose {s} have {fa} {nb} {ab} {v}.",
                    "Show the {cs} for which the {f} {nb} of {s} is {ab} {v}.",
                ],
                cs=d.words_plural(column),
                f=(f := d.rng.choice(fwords)),
                fa=article(f),
                nb=d.words(number),
                s=d.nouns(table)[1],
                ab=words,
                v=spoken_value(value),
            ),
            query,
        )
    conds, said, joiner = conditions(d, scope, d.weighted({0: 80, 1: 20}), avoid=[column], person=False)
    shown = [d.col(column)] + ([exp.Count(this=exp.Star())] if d.rng.random() < 0.15 else [])
    query = where(d.from_(scope, *shown), conds, joiner).group_by(d.col(column)).having(cond)
    return Draft(
        "having",
        d.say(
            [
                "Which {cs} have {n} {s}? Give each with its number of {s1}.",
                "List the {cs} shared by {n} {s}, and how many {s1} each has.",
                "Show the {cs} that {n} {s} have, with the count for each.",
            ]
            if len(shown) > 1
            else [
                "Which {cs} have {n} {s}?",
                "List the {cs} shared by {n} {s}.",
                "Show the {cs} that {n} {s} have.",
                "What are the {cs} with {n} {s}?",
            ],
            s1=d.nouns(table)[1],
            cs=d.words_plural(column),
            n=n,
            s=d.nouns(table)[1] + said,
        ),
        query,
    )


GROUP_TEMPLATES = [
    group_count,
    most_common,
    having,
]
