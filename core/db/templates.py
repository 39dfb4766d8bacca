"""Pair templates over one table or tables joined along foreign keys: lists (with up to two conditions, DISTINCT),
counts, aggregates, sorted lists, superlatives and top-N, counts and aggregates per group, the most common value,
HAVING, "above the average" and set operations. Each builds its SQL as a sqlglot expression from real values and
words the question two or three ways (see core.db.draft). How often each runs, and with how many joins and
conditions, follows Spider's human questions (core.db.pairgen.WEIGHTS).
"""

from sqlglot import exp

from core.db.draft import AGGREGATES, Condition, Draft, Drafter, Scope, count_condition, literal, round_2
from core.db.introspect import LOW_CARDINALITY
from core.db.phrasing import article, join_words, spoken_value

# How many joins and conditions people's questions have (Spider's train split, by count of queries).
JOINS = {0: 62, 1: 28, 2: 8.5, 3: 0.9}
CONDITIONS = {
    0: 35,
    1: 47,
    2: 18,
}  # of lists, counts and aggregates (more of them filter than of all queries)
WIDTH = {1: 65, 2: 28, 3: 6, 4: 1}  # output columns of a list
SHOW = [
    "What are the {c} of {s}?",
    "Show the {c} of {s}.",
    "List the {c} of {s}.",
    "Find the {c} of {s}.",
    "Give me the {c} of {s}.",
    "Return the {c} of {s}.",
    "What is the {c} of {s}?",
]


def relation(d: Drafter, scope: Scope, subject: int, other: int) -> str:
    """How the subject's rows relate to another table of the scope, in words: 'of a maker', 'that have a car',
    'linked to a concert'."""
    single = d.nouns(scope.tables[other])[0]
    if abs(subject - other) == 1:
        hop = scope.hops[min(subject, other)]
        if hop.child is scope.tables[subject]:
            return f"of {article(single)}{hop.via()}"
        return f"that have {article(single)}{hop.via()}"
    return f"linked to {article(single)}"


def conditions(d: Drafter, scope: Scope, count: int, avoid=()) -> tuple[list, str, str]:
    """(conditions, their words relative to the subject (table 0), "and" or "or"). In a joined scope the first
    condition is on the farthest table: the join is there for it, and the question says so."""
    last = len(scope.tables) - 1
    count = max(count, 1) if scope.joined else count
    found, words = [], []
    tables = ([last] + [d.rng.randrange(len(scope.tables)) if scope.joined else 0 for _ in range(count - 1)])[
        :count
    ]
    same_row = (
        count == 2 and tables[0] == tables[1] and d.rng.random() < 0.6
    )  # "first name X and last name Y"
    row = d.pick(scope.tables[tables[0]].sample) if same_row else None
    for k, i in enumerate(tables):
        cond = d.condition(
            scope.tables[i],
            scope.alias(i),
            kinds=("eq",) if row else ("eq", "cmp", "like"),
            avoid=tuple(avoid) + tuple(c.column for c in found),
            row=row,
        )
        if cond is None:
            continue
        if k == 0 and count == 2 and not row and isinstance(cond.expr, exp.EQ) and d.rng.random() < 0.35:
            other = d.pick([v for v in cond.column.examples if literal(v) != cond.expr.expression])
            if other is not None:  # two values of one column: "whose country is France or Japan"
                second = exp.EQ(this=cond.expr.this.copy(), expression=literal(other))
                both = exp.or_(cond.expr, second)
                text = f"{cond.words} or {spoken_value(other)}"
                return (
                    [Condition(both, cond.table, cond.column, text)],
                    " " + _related(d, scope, i, text),
                    "and",
                )
        found.append(cond)
        words.append(_related(d, scope, i, cond.words))
    if scope.joined and (not found or found[0].table is not scope.tables[last]):
        return [], "", "and"  # no condition where the join needs one: the caller draws again
    if not found:
        return [], "", "and"
    joiner = "and" if row or d.rng.random() < 0.75 else "or"
    return found, " " + f" {joiner} ".join(words), joiner


def _related(d: Drafter, scope: Scope, i: int, words: str) -> str:
    return words if i == 0 else f"{relation(d, scope, 0, i)} {words}"


def fans_out(scope: Scope) -> bool:
    """Whether a row of the subject (table 0) can meet several rows of the joined tables (a parent with its
    children): then counts take DISTINCT keys, lists DISTINCT rows, and aggregates are not drawn over it."""
    return any(hop.parent is scope.tables[i] for i, hop in enumerate(scope.hops))


def where(query: exp.Select, conds: list, joiner: str) -> exp.Select:
    if not conds:
        return query
    return query.where((exp.or_ if joiner == "or" else exp.and_)(*[c.expr for c in conds]))


def _subject_rows(d: Drafter, scope: Scope) -> str:
    return d.nouns(scope.tables[0])[1]


def list_rows(d: Drafter) -> Draft | None:
    """The values of one to three columns for the rows that meet zero to two conditions (DISTINCT when repeated)."""
    scope = d.scope(JOINS)
    if scope is None:
        return None
    table = scope.tables[0]
    shown = d.shown(table)
    if not shown:
        return None
    width = min(d.weighted(WIDTH), len(shown))
    outputs = (
        shown[:1] + d.rng.sample(shown[1:], width - 1) if d.rng.random() < 0.7 else d.rng.sample(shown, width)
    )
    if not scope.joined and d.rng.random() < 0.05:  # "all the information about ..."
        conds, said, joiner = conditions(d, scope, d.weighted({0: 40, 1: 60}))
        if d.big(table) and not conds:
            return None
        query = where(d.from_(scope, exp.Star()), conds, joiner)
        by = d.pick(d.sortable(table)) if d.rng.random() < 0.3 else None
        if by is not None:
            query = query.order_by(d.ordered(d.col(by), d.rng.random() < 0.5, by))
            said += f", sorted by {d.words(by)}"
        return Draft(
            "list",
            d.say(
                [
                    "Show all information about {s}.",
                    "What is all the information about {s}?",
                    "List everything about {s}.",
                    "Give me all the details of {s}.",
                ],
                s=d.nouns(table)[1] + said,
            ),
            query,
        )
    far = scope.tables[-1]
    theirs = d.shown(far)[: d.weighted({1: 70, 2: 30})]
    if scope.joined and not fans_out(scope) and theirs and d.rng.random() < 0.3 and not d.big(table):
        # "the name of each employee and the name of their department": the columns of both ends, no condition
        query = d.from_(
            scope,
            *[d.col(c, scope.alias(0)) for c in outputs],
            *[d.col(c, scope.alias(len(scope.tables) - 1)) for c in theirs],
        )
        return Draft(
            "list",
            d.say(
                [
                    "Show the {c} of each {s1} and the {f} of its {o}.",
                    "List the {c} of every {s1} together with its {o}'s {f}.",
                    "What are the {c} of all {s} and the {f} of their {o}?",
                    "For each {s1}, give its {c} and the {f} of its {o}.",
                ],
                c=d.columns_words(outputs),
                s1=d.nouns(table)[0],
                s=d.nouns(table)[1],
                f=d.columns_words(theirs),
                o=d.nouns(far)[0],
            ),
            query,
        )
    exists = scope.joined and len(scope.tables) == 2 and fans_out(scope) and d.rng.random() < 0.25
    if exists:  # "the architects that have a mill": the join itself is the condition
        conds, said, joiner = [], " " + relation(d, scope, 0, 1), "and"
    else:
        conds, said, joiner = conditions(d, scope, d.weighted(CONDITIONS), avoid=outputs)
    if (scope.joined and not conds and not exists) or (any(d.big(t) for t in scope.tables) and not conds):
        return None  # a join must be asked for; a whole big table is no answer a person reads
    query = d.from_(scope, *[d.col(c, scope.alias(0)) for c in outputs])
    # a parent met once per child repeats: DISTINCT, as people write it about half of the time
    distinct = d.rng.random() < (0.5 if fans_out(scope) else 0.25 if outputs[0].distinct <= 20 else 0)
    if distinct:
        query = query.distinct()
    query = where(query, conds, joiner)
    rows = _subject_rows(d, scope)
    cols = d.columns_words(outputs, plural=True)
    phrasings = SHOW + ["Which {s1} are there{w}? Give their {c}."]
    if distinct:
        phrasings += ["What are the distinct {c} of {s}?", "List the different {c} of {s}."]
    return Draft("list", d.say(phrasings, c=cols, s=rows + said, s1=rows, w=said), query)


def count_rows(d: Drafter) -> Draft | None:
    """How many rows meet the conditions, or how many different values a column has."""
    scope = d.scope(JOINS)
    if scope is None:
        return None
    conds, said, joiner = conditions(d, scope, d.weighted(CONDITIONS))
    if scope.joined and not conds:
        return None
    rows = _subject_rows(d, scope)
    if d.rng.random() < 0.25:
        column = d.pick(
            [
                c
                for c in d.shown(scope.tables[0])
                if 1 < c.distinct <= LOW_CARDINALITY and c not in [x.column for x in conds]
            ]
        )  # "how many different cities", not amounts
        if column is None:
            return None
        query = where(
            d.from_(scope, exp.Count(this=exp.Distinct(expressions=[d.col(column, scope.alias(0))]))),
            conds,
            joiner,
        )
        cs = d.words_plural(column)
        return Draft(
            "count_distinct",
            d.say(
                [
                    "How many different {cs} are there among {s}?",
                    "How many distinct {cs} do the {s} have?",
                    "Count the number of different {cs} of {s}.",
                    "What is the number of distinct {cs} of {s}?",
                ],
                cs=cs,
                s=rows + said,
            ),
            query,
        )
    counted = exp.Star()
    if fans_out(scope):  # a parent met once per child: count the parents, not the rows of the join
        key = d.key(scope.tables[0])
        if key is None:
            return None
        counted = exp.Distinct(expressions=[d.col(key, scope.alias(0))])
    query = where(d.from_(scope, exp.Count(this=counted)), conds, joiner)
    phrasings = [
        "How many {s}{w}?",
        "Count the number of {s}{w}.",
        "What is the number of {s}{w}?",
        "Find the number of {s}{w}.",
        "What is the total number of {s}{w}?",
    ]
    if not conds:
        phrasings += ["How many {s} are there?", "How many {s} do we have?"]
    return Draft("count", d.say(phrasings, s=rows, w=said), query)


def aggregate(d: Drafter) -> Draft | None:
    """An average, total, minimum or maximum (or two or three of them) of a number column."""
    scope = d.scope(JOINS, many_to_one=True)
    if scope is None or not d.numbers(scope.tables[0]):
        return None  # over a parent met once per child, an average would weigh each parent by its children
    numbers = d.numbers(scope.tables[0])
    column = d.pick(numbers)
    names = d.weighted(
        {
            ("avg",): 59,
            ("sum",): 25,
            ("max",): 10,
            ("min",): 5,
            ("max", "min"): 32,
            ("avg", "min", "max"): 30,
            ("avg", "max"): 5,
            ("sum", "max"): 3,
        }
    )
    names = tuple(d.rng.sample(names, len(names)))  # "the maximum and minimum", "the minimum and maximum"
    second = (
        d.pick([n for n in numbers if n is not column]) if len(names) == 1 and d.rng.random() < 0.12 else None
    )
    conds, said, joiner = conditions(d, scope, d.weighted(CONDITIONS), avoid=[column])
    if scope.joined and not conds:
        return None
    ref = d.col(column, scope.alias(0))
    if second is not None:  # "the average latitude and longitude"
        func, fwords = AGGREGATES[names[0]]
        query = where(d.from_(scope, func(this=ref), func(this=d.col(second, scope.alias(0)))), conds, joiner)
        return Draft(
            "aggregate",
            d.say(
                ["What is the {f} {c} of {s}?", "Find the {f} {c} of {s}.", "Show the {f} {c} of all {s}."],
                f=d.rng.choice(fwords),
                c=join_words([d.words(column), d.words(second)]),
                s=_subject_rows(d, scope) + said,
            ),
            query,
        )
    query = where(d.from_(scope, *[AGGREGATES[n][0](this=ref.copy()) for n in names]), conds, joiner)
    f = join_words([d.rng.choice(AGGREGATES[n][1]) for n in names])
    return Draft(
        "aggregate",
        d.say(
            [
                "What is the {f} {c} of {s}?",
                "What is the {f} {c} of all {s}?",
                "Find the {f} {c} of {s}.",
                "Show the {f} {c} of {s}.",
                "Give the {f} {c} of the {s}.",
                "What are the {f} {c} of {s}?",
            ],
            f=f,
            c=d.words(column),
            s=_subject_rows(d, scope) + said,
        ),
        query,
    )


def sorted_rows(d: Drafter) -> Draft | None:
    """Rows in the order of a column, or the first one to five of them (the highest, the lowest: a superlative)."""
    scope = d.scope({0: 80, 1: 17, 2: 3}, many_to_one=True)
    if scope is None:
        return None
    table = scope.tables[0]
    shown, keys = d.shown(table), d.sortable(table)
    if not shown or not keys:
        return None
    by, by_at = d.pick(keys), 0
    if d.rng.random() < 0.15:
        shown = [by] + [c for c in shown if c is not by]  # the column sorted by is the one shown
    far = scope.tables[-1]
    if scope.joined and d.sortable(far) and d.rng.random() < 0.5:  # ordered by the joined table's column
        by, by_at = d.pick(d.numbers(far) + d.dates(far) or d.sortable(far)), len(scope.tables) - 1
    width = min(d.weighted(WIDTH), len(shown))
    outputs = shown[:width] if d.rng.random() < 0.6 or shown[0] is by else d.rng.sample(shown, width)
    top = d.rng.random() < 0.5 and by.kind != "text"  # "the highest name" is no question
    if by_at:
        conds, said, joiner = [], " " + relation(d, scope, 0, by_at), "and"
    else:
        conds, said, joiner = conditions(d, scope, d.weighted({0: 75, 1: 25}), avoid=outputs + [by])
    if (scope.joined and not conds and not by_at) or (
        any(d.big(t) for t in scope.tables) and not top and not conds
    ):
        return None
    desc = d.rng.random() < (0.7 if top else 0.45)
    query = where(d.from_(scope, *[d.col(c, scope.alias(0)) for c in outputs]), conds, joiner)
    if not top and outputs == [by] and d.rng.random() < 0.6:  # "the distinct names, in alphabetical order"
        query = query.distinct()
    query = query.order_by(d.ordered(d.col(by, scope.alias(by_at)), desc, by))
    rows, single = _subject_rows(d, scope), d.nouns(table)[0]
    cols, b = d.columns_words(outputs), d.words(by)
    if by_at:
        b = f"{d.nouns(far)[0]} {b}"
    if top:
        n = d.weighted({1: 85, 3: 8, 5: 5, 10: 2})
        query = query.limit(n)
        hl = "highest" if desc else "lowest"
        big = "largest" if desc else "smallest"
        if n == 1:
            return Draft(
                "superlative",
                d.say(
                    [
                        "What is the {c} of the {s1} with the {hl} {b}?",
                        "Which {s1} has the {hl} {b}? Give its {c}.",
                        "Find the {c} of the {s1} with the {big} {b}.",
                        "Show the {c} of the {s1} whose {b} is the {hl}.",
                        "Return the {c} of the {s1} that has the {hl} {b}.",
                    ],
                    c=cols,
                    s1=single + said,
                    hl=hl,
                    big=big,
                    b=b,
                ),
                query,
            )
        return Draft(
            "top_n",
            d.say(
                [
                    "What are the {c} of the {n} {s} with the {hl} {b}?",
                    "List the {c} of the top {n} {s} by {b}.",
                    "Show the {c} of the {n} {s} with the {big} {b}.",
                ]
                if desc
                else [
                    "What are the {c} of the {n} {s} with the {hl} {b}?",
                    "Show the {c} of the {n} {s} with the {big} {b}.",
                    "List the {c} of the {n} {s} with the {hl} {b}.",
                ],
                c=cols,
                n=n,
                s=rows + said,
                hl=hl,
                big=big,
                b=b,
            ),
            query,
        )
    direction = (
        ["in descending order of {b}", "from the highest {b} to the lowest", "sorted by {b} descending"]
        if desc
        else [
            "in ascending order of {b}",
            "sorted by {b}",
            "ordered by {b}",
            "from the lowest {b} to the highest",
        ]
    )
    if by.kind == "text":
        direction = (
            ["in reverse alphabetical order of {b}", "sorted by {b} descending"]
            if desc
            else ["in alphabetical order of {b}", "sorted by {b}", "ordered by {b}"]
        )
    phrasings = [
        f"{p} {o}."
        for p in ("List the {c} of {s},", "Show the {c} of all {s}", "What are the {c} of {s}")
        for o in direction
    ]
    return Draft(
        "order", d.say(phrasings, c=d.columns_words(outputs, plural=True), s=rows + said, b=b), query
    )


def group_count(d: Drafter) -> Draft | None:
    """Each value of a category with the number of rows (or an aggregate of a number) that have it."""
    table, categories = d.pick(d.tables_with(d.categories)) or (None, None)
    if table is None:
        return None
    column = d.pick(categories)
    scope = Scope([table])
    conds, said, joiner = conditions(d, scope, d.weighted({0: 75, 1: 25}), avoid=[column])
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
        f = join_words([d.rng.choice(AGGREGATES[n][1]) for n in names])
        return Draft(
            "group_aggregate",
            d.say(
                [
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
    if d.rng.random() < 0.12:  # "... in descending order of the count"
        query = query.order_by(d.ordered(count.copy(), d.rng.random() < 0.7))
    return Draft(
        "group_count",
        d.say(
            [
                "How many {s} are there for each {c}?",
                "Show each {c} and the number of {s} with it.",
                "Count the number of {s} for each {c}.",
                "What is the number of {s} for each {c}?",
                "List all {cs} and the number of {s} in each.",
                "How many {s} does each {c} have?",
                "Show the {cs} and the number of {s} for each.",
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
    conds, said, joiner = conditions(d, scope, d.weighted({0: 80, 1: 20}), avoid=[column])
    c, s = d.words(column), d.nouns(table)[1] + said
    numbers = [n for n in d.numbers(table) if n is not column]
    if numbers and d.rng.random() < 0.15:  # "the zip code with the lowest average pressure"
        number, name = d.pick(numbers), d.weighted({"avg": 3, "sum": 2})
        func, fwords = AGGREGATES[name]
        query = where(d.from_(scope, d.col(column)), conds, joiner).group_by(d.col(column))
        query = query.order_by(d.ordered(func(this=d.col(number)), most)).limit(1)
        hl = "highest" if most else "lowest"
        return Draft(
            "most_common",
            d.say(
                [
                    "Which {c} has the {hl} {f} {n}?",
                    "What is the {c} with the {hl} {f} {n} of {s}?",
                    "Find the {c} whose {s} have the {hl} {f} {n}.",
                ],
                c=c,
                hl=hl,
                f=d.rng.choice(fwords),
                n=d.words(number),
                s=s,
            ),
            query,
        )
    count = exp.Count(this=exp.Star())
    with_count = d.rng.random() < 0.15
    n = d.weighted({1: 90, 3: 10})
    query = where(d.from_(scope, d.col(column), *([count.copy()] if with_count else [])), conds, joiner)
    query = query.group_by(d.col(column)).order_by(d.ordered(count, most)).limit(n)
    m, mc = ("most", "most common") if most else ("fewest", "least common")
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
    cond, n = count_condition(d)
    scope = Scope([table])
    numbers = [x for x in d.numbers(table) if x is not column]
    if numbers and d.rng.random() < 0.2:  # "the zip codes whose average temperature is above 60"
        number, name = d.pick(numbers), d.weighted({"avg": 5, "sum": 3, "max": 1, "min": 1})
        func, fwords = AGGREGATES[name]
        value, above = d.threshold(number), d.rng.random() < 0.7
        if value is None:
            return None
        query = (
            d.from_(scope, d.col(column))
            .group_by(d.col(column))
            .having((exp.GT if above else exp.LT)(this=func(this=d.col(number)), expression=literal(value)))
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
                ab="above" if above else "below",
                v=spoken_value(value),
            ),
            query,
        )
    conds, said, joiner = conditions(d, scope, d.weighted({0: 80, 1: 20}), avoid=[column])
    query = where(d.from_(scope, d.col(column)), conds, joiner).group_by(d.col(column)).having(cond)
    return Draft(
        "having",
        d.say(
            [
                "Which {cs} have {n} {s}?",
                "List the {cs} shared by {n} {s}.",
                "Show the {cs} that {n} {s} have.",
                "What are the {cs} with {n} {s}?",
            ],
            cs=d.words_plural(column),
            n=n,
            s=d.nouns(table)[1] + said,
        ),
        query,
    )


def above_average(d: Drafter) -> Draft | None:
    """Rows whose number is above (or below) the average of that column; or how many there are."""
    table, numbers = d.pick(d.tables_with(d.numbers)) or (None, None)
    if table is None:
        return None
    column, above = d.pick(numbers), d.rng.random() < 0.65
    shown = [x for x in d.shown(table) if x is not column]
    if shown and not d.big(table) and d.rng.random() < 0.15:  # "the X whose Y is the largest", nested
        high = d.rng.random() < 0.6
        extreme = exp.Subquery(
            this=d.from_(Scope([table]), (exp.Max if high else exp.Min)(this=d.col(column)))
        )
        query = d.from_(Scope([table]), d.col(shown[0])).where(exp.EQ(this=d.col(column), expression=extreme))
        return Draft(
            "above_average",
            d.say(
                [
                    "What are the {l} of the {s} whose {c} is the {hl}?",
                    "Which {s1} has the {hl} {c}? List all such {l}.",
                    "Find the {l} of the {s} with the {hl} {c}, ties included.",
                ],
                l=d.words_plural(shown[0]),
                s=d.nouns(table)[1],
                s1=d.nouns(table)[0],
                c=d.words(column),
                hl="largest" if high else "smallest",
            ),
            query,
        )
    name = d.weighted({"avg": 80, "min": 10, "max": 10})
    inner = d.from_(Scope([table]), AGGREGATES[name][0](this=d.col(column)))
    inner_cond = d.condition(table, kinds=("eq",), avoid=(column,)) if d.rng.random() < 0.2 else None
    if inner_cond is not None:  # "longer than the shortest trip of bike 636"
        inner = inner.where(inner_cond.expr)
    cond = (exp.GT if above else exp.LT)(this=d.col(column), expression=exp.Subquery(this=inner))
    than = {"avg": "the average", "min": "the smallest", "max": "the largest"}[name]
    ab, c, s = "above" if above else "below", d.words(column), d.nouns(table)[1]
    if name != "avg" or inner_cond is not None:
        rel = "greater than" if above else "less than"
        of = f" of the {s} {inner_cond.words}" if inner_cond is not None else ""
        outputs = shown[: d.weighted({1: 75, 2: 25})] if shown else []
        if not outputs or d.big(table):
            return None
        query = d.from_(Scope([table]), *[d.col(o) for o in outputs]).where(cond)
        return Draft(
            "above_average",
            d.say(
                [
                    "Which {s} have a {c} {rel} {than} {c}{of}? Give their {l}.",
                    "List the {l} of {s} whose {c} is {rel} {than} {c}{of}.",
                    "Find the {l} of the {s} with a {c} {rel} {than} {c}{of}.",
                ],
                s=s,
                c=c,
                rel=rel,
                than=than,
                of=of,
                l=d.columns_words(outputs, plural=True),
            ),
            query,
        )
    if not shown or d.big(table) or d.rng.random() < 0.25:
        query = d.from_(Scope([table]), exp.Count(this=exp.Star())).where(cond)
        return Draft(
            "above_average_count",
            d.say(
                [
                    "How many {s} have a {c} {ab} the average?",
                    "Count the {s} whose {c} is {ab} the average {c}.",
                    "What is the number of {s} with {c} {ab} average?",
                ],
                s=s,
                c=c,
                ab=ab,
            ),
            query,
        )
    outputs = shown[: d.weighted({1: 75, 2: 25})]
    query = d.from_(Scope([table]), *[d.col(o) for o in outputs]).where(cond)
    return Draft(
        "above_average",
        d.say(
            [
                "Which {s} have a {c} {ab} the average? Give their {l}.",
                "List the {l} of {s} whose {c} is {ab} average.",
                "Find the {l} of the {s} with a {c} {ab} the average {c}.",
                "What are the {l} of {s} with {c} {ab} average?",
            ],
            s=s,
            c=c,
            ab=ab,
            l=d.columns_words(outputs, plural=True),
        ),
        query,
    )


def set_operation(d: Drafter) -> Draft | None:
    """Values of a column that rows with two different conditions share (INTERSECT), either of them has (UNION),
    or one has and the other not (EXCEPT)."""
    table, categories = d.pick(d.tables_with(lambda t: [c for c in d.shown(t) if c.distinct > 1])) or (
        None,
        None,
    )
    if table is None:
        return None
    column = d.pick(categories)
    scope = Scope([table])
    first, second = d.condition(table, avoid=(column,)), d.condition(table, avoid=(column,))
    numbers = [n for n in d.numbers(table) if n is not column and len(n.examples) > 1]
    if (
        numbers and d.rng.random() < 0.3
    ):  # "the locations of shops opened after 2012 and of shops before 2008"
        number = d.pick(numbers)
        low, high = (sorted({round_2(v) for v in d.rng.sample(number.examples, 2)}) + [None])[:2]
        if high is not None:
            n = d.words(number)
            first = Condition(
                exp.GT(this=d.col(number), expression=literal(high)),
                table,
                number,
                f"whose {n} is above {spoken_value(high)}",
            )
            second = Condition(
                exp.LT(this=d.col(number), expression=literal(low)),
                table,
                number,
                f"whose {n} is below {spoken_value(low)}",
            )
    if first is None or second is None or first.words == second.words:
        return None
    kind = d.weighted({"intersect": 48, "except": 41, "union": 11})
    left = d.from_(scope, d.col(column))
    if kind == "except" and d.rng.random() < 0.4:  # "all the names except those of shops in Paris"
        first = Condition(None, table, column, "")
    else:
        left = left.where(first.expr)
    right = d.from_(scope, d.col(column)).where(second.expr)
    op = {"intersect": exp.intersect, "except": exp.except_, "union": exp.union}[kind]
    query = op(left, right, distinct=True)
    cs, s = d.words_plural(column), d.nouns(table)[1]
    a, b = first.words, second.words
    if not a:
        return Draft(
            kind,
            d.say(
                [
                    "Which {cs} do {s} have, except those of {s} {b}?",
                    "List the {cs} of all {s} except the {s} {b}.",
                    "Show the {cs} of {s} that no {s1} {b} has.",
                ],
                cs=cs,
                s=s,
                s1=d.nouns(table)[0],
                b=b,
            ),
            query,
        )
    phrasing = {
        "intersect": [
            "Which {cs} have both {s} {a} and {s} {b}?",
            "Show the {cs} shared by {s} {a} and {s} {b}.",
            "Find the {cs} of {s} {a} that also belong to {s} {b}.",
        ],
        "except": [
            "Which {cs} have {s} {a} but no {s} {b}?",
            "Show the {cs} of {s} {a}, except those of {s} {b}.",
            "Find the {cs} that {s} {a} have and {s} {b} do not.",
        ],
        "union": [
            "What are the {cs} of {s} {a} or {b}?",
            "Show the {cs} of {s} that are either {a} or {b}.",
            "List the {cs} of {s} {a}, together with those of {s} {b}.",
        ],
    }[kind]
    return Draft(kind, d.say(phrasing, cs=cs, s=s, a=a, b=b), query)


TEMPLATES = [
    list_rows,
    count_rows,
    aggregate,
    sorted_rows,
    group_count,
    most_common,
    having,
    above_average,
    set_operation,
]
