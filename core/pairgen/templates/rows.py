"""Pair templates over one table or tables joined along foreign keys: lists (with up to two conditions, DISTINCT),
counts and aggregates. Each builds its SQL as a sqlglot expression from real values
and words the question two or three ways (see core.pairgen.draft; the conditions come from conditions.py). How
often each runs, and with how many joins and conditions, follows Spider's human questions
(core.pairgen.generator.WEIGHTS).

Sorted lists, superlatives and top-N are in sorting.py; counts and aggregates per group, the most common value and
HAVING in groups.py; "above the average" and set
operations in compound.py; the templates along one foreign key in child_counts.py and join_values.py.
"""

from sqlglot import exp

from core.db.introspect import LOW_CARDINALITY
from core.pairgen.draft import Drafter
from core.pairgen.literals import AGGREGATES, aggregate_words
from core.pairgen.phrasing import join_words
from core.pairgen.scope import Draft, Scope
from core.pairgen.templates.conditions import conditions, fans_out, pinned, relation, where

# How many joins and conditions people's questions have (Spider's train split, by count of queries).
JOINS = {0: 62, 1: 28, 2: 8.5, 3: 0.9}
# How many conditions people's lists (23 of 100 have none), counts and aggregates (about half have none) have,
# Spider train's queries of those kinds without grouping, sorting or nesting.
CONDITIONS = {0: 23, 1: 57, 2: 20}
TOTAL_CONDITIONS = {0: 48, 1: 37, 2: 15}
WIDTH = {1: 65, 2: 28, 3: 6, 4: 1}  # output columns of a list
SHOW = [
    "What are the {c} of {s}?",
    "Show the {c} of {s}.",
    "List the {c} of {s}.",
    "Find the {c} of {s}.",
    "Give me the {c} of {s}.",
    "Return the {c} of {s}.",
]


def subject_rows(d: Drafter, scope: Scope) -> str:
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
    if scope.joined and theirs and d.rng.random() < 0.3 and not d.big(table):
        # "the name of each employee and the name of their department": the columns of both ends, no condition
        query = d.from_(
            scope,
            *[d.col(c, scope.alias(0)) for c in outputs],
            *[d.col(c, scope.alias(len(scope.tables) - 1)) for c in theirs],
        )
        phrasings = [
            "Show the {c} of each {s1} and the {f} of its {o}.",
            "List the {c} of every {s1} together with its {o}'s {f}.",
            "What are the {c} of all {s} and the {f} of their {o}?",
            "For each {s1}, give its {c} and the {f} of its {o}.",
        ]
        if fans_out(scope):  # a student with several courses: one row per pair
            phrasings = [
                "Show the {c} of {s} together with the {f} of their {op}.",
                "List the {c} of each {s1} and the {f} of each of its {op}.",
                "What are the {c} of {s} and the {f} of the {op} they have?",
            ]
        said = ""
        by = d.pick(d.sortable(table)) if d.rng.random() < 0.3 else None
        if by is not None:  # "..., sorted by their age"
            desc = d.rng.random() < 0.3
            query = query.order_by(d.ordered(d.col(by, scope.alias(0)), desc, by))
            said = f", sorted by {d.words(by)}" + (" from highest to lowest" if desc else "")
        return Draft(
            "list",
            [
                (p, q.rstrip(".?") + said + q[-1])
                for p, q in d.say(
                    phrasings,
                    c=d.columns_words(outputs),
                    s1=d.nouns(table)[0],
                    s=d.nouns(table)[1],
                    f=d.columns_words(theirs),
                    o=d.nouns(far)[0],
                    op=d.nouns(far)[1],
                )
            ],
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
    rows = subject_rows(d, scope)
    cols = d.columns_words(outputs, plural=True)
    # "the names and ages of" as often as "the name and age of" (Spider train: 121 and 153 questions)
    each = len(outputs) > 1 and d.rng.random() < 0.45
    phrasings = list(
        SHOW
    )  # never "Which students are there? Give their names." (Spider train: no "give their")
    if len(outputs) > 1:  # "What is the room and building of ...", never "What is the rooms of ..."
        phrasings.append("What is the {c1} of {s}?")
    if distinct:
        phrasings += ["What are the distinct {c} of {s}?", "List the different {c} of {s}."]
    shown_words = d.columns_words(outputs, plural=True, each=True) if each else cols
    return Draft("list", d.say(phrasings, c=shown_words, c1=cols, s=rows + said), query)


def count_rows(d: Drafter) -> Draft | None:
    """How many rows meet the conditions, or how many different values a column has."""
    scope = d.scope(JOINS)
    if scope is None:
        return None
    conds, said, joiner = conditions(d, scope, d.weighted(TOTAL_CONDITIONS))
    if scope.joined and not conds:
        return None
    rows = subject_rows(d, scope)
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
                kind="count",
                phrasings=[
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
    if fans_out(scope) and not pinned(scope, conds, joiner):  # a parent met once per child: count the parents
        key = d.key(scope.tables[0])
        if key is None:
            return None
        counted = exp.Distinct(expressions=[d.col(key, scope.alias(0))])
    query = where(d.from_(scope, exp.Count(this=counted)), conds, joiner)
    phrasings = [
        # "How many countries of a continent named Asia are there?": without its verb the question does not read
        "How many {s}{w} are there?" if conds else "How many {s}?",
        "Count the number of {s}{w}.",
        "What is the number of {s}{w}?",
        "Find the number of {s}{w}.",
        "What is the total number of {s}{w}?",
    ]
    if not conds:
        phrasings += ["How many {s} are there?", "How many {s} do we have?"]
    return Draft("count", d.say(phrasings, kind="count", s=rows, w=said), query)


def aggregate(d: Drafter) -> Draft | None:
    """An average, total, minimum or maximum (or two or three of them) of a number column."""
    # over a parent met once per child, an average would weigh each parent by its children: only along many-to-one
    # paths, or through a link table to one row of the far table (checked once the conditions are drawn)
    scope = d.scope(JOINS, many_to_one=d.rng.random() < 0.7)
    if scope is None or not d.numbers(scope.tables[0]):
        return None
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
            ("sum", "avg"): 4,
        }
    )
    names = tuple(d.rng.sample(names, len(names)))  # "the maximum and minimum", "the minimum and maximum"
    second = (
        d.pick([n for n in numbers if n is not column]) if len(names) == 1 and d.rng.random() < 0.12 else None
    )
    conds, said, joiner = conditions(d, scope, d.weighted(TOTAL_CONDITIONS), avoid=[column], person=False)
    if scope.joined and not conds or fans_out(scope) and not pinned(scope, conds, joiner):
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
                s=subject_rows(d, scope) + said,
            ),
            query,
        )
    query = where(d.from_(scope, *[AGGREGATES[n][0](this=ref.copy()) for n in names]), conds, joiner)
    f = aggregate_words(d.rng, names)
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
            s=subject_rows(d, scope) + said,
        ),
        query,
    )


ROW_TEMPLATES = [
    list_rows,
    count_rows,
    aggregate,
]
