"""Pair templates whose query holds a second query: rows above (or below) the average of a column, or with its
largest value (a nested SELECT), and the values two conditions share, join or tell apart (INTERSECT, UNION, EXCEPT).
Built as the templates of rows.py are (a sqlglot expression from real values, two or three wordings); drawn with
the weights of core.pairgen.generator.WEIGHTS.
"""

from sqlglot import exp

from core.pairgen.draft import Drafter
from core.pairgen.literals import AGGREGATES, literal, numeric, round_2
from core.pairgen.phrasing import article, is_or_are, spoken_value
from core.pairgen.scope import Condition, Draft, Scope
from core.pairgen.templates.conditions import fans_out, is_link, relation
from core.pairgen.templates.filters import condition
from core.pairgen.templates.joins import _through


def above_average(d: Drafter) -> Draft | None:
    """Rows whose number is above (or below) the average of that column; or how many there are."""
    if d.rng.random() < 0.3:  # Spider train: 62 of 203 such queries join another table
        return _joined_comparison(d)
    table, numbers = d.pick(d.tables_with(d.numbers)) or (None, None)
    if table is None:
        return None
    column, above = d.pick(numbers), d.rng.random() < 0.65
    shown = [x for x in d.shown(table) if x is not column]
    if shown and not d.big(table) and d.rng.random() < 0.15:  # "the X whose Y is the largest", nested
        high = d.rng.random() < 0.6
        inner = d.from_(Scope([table]), (exp.Max if high else exp.Min)(this=d.col(column)))
        # "the youngest student of major 600": the same condition outside and inside (Spider train: 12 of 50)
        among = (
            condition(d, table, kinds=("eq",), avoid=(column, shown[0])) if d.rng.random() < 0.25 else None
        )
        if among is not None:
            inner = inner.where(among.expr.copy())
        extreme = exp.EQ(this=d.col(column), expression=exp.Subquery(this=inner))
        query = d.from_(Scope([table]), d.col(shown[0])).where(
            exp.and_(among.expr, extreme) if among is not None else extreme
        )
        return Draft(
            "above_average",
            d.say(
                [
                    "What are the {l} of the {s}{w} whose {c} is the {hl}?",
                    "Which {s1}{w} has the {hl} {c}? List all such {l}.",
                    "Find the {l} of the {s}{w} with the {hl} {c}, ties included.",
                ],
                l=d.words_plural(shown[0]),
                s=d.nouns(table)[1],
                s1=d.nouns(table)[0],
                w=f" {among.words}" if among is not None else "",
                c=d.words(column),
                hl="largest" if high else "smallest",
            ),
            query,
        )
    name = d.weighted({"avg": 80, "min": 10, "max": 10})
    inner = d.from_(Scope([table]), AGGREGATES[name][0](this=d.col(column)))
    # people compare with the smallest or largest of some rows far more than of all ("a resolution higher than the
    # lowest of the English songs": 46 of Spider train's 59 such queries), with the average of all (88 of 94)
    within = 0.1 if name == "avg" else 0.75
    inner_cond = condition(d, table, kinds=("eq",), avoid=(column,)) if d.rng.random() < within else None
    if inner_cond is not None:  # "longer than the shortest trip of bike 636"
        inner = inner.where(inner_cond.expr)
    cond = (exp.GT if above else exp.LT)(this=d.col(column), expression=exp.Subquery(this=inner))
    than = {"avg": "the average", "min": "the smallest", "max": "the largest"}[name]
    ab, c, s = "above" if above else "below", d.words(column), d.nouns(table)[1]
    ac = article(c)  # "an amount"
    if name != "avg" or inner_cond is not None:
        rel = "greater than" if above else "less than"
        of = f" of the {s} {inner_cond.words}" if inner_cond is not None else ""
        outputs = shown[: d.weighted({1: 75, 2: 25})] if shown else []
        if not outputs or d.big(table):
            return None
        query = d.from_(Scope([table]), *[d.col(o) for o in outputs]).where(cond)
        if d.rng.random() < 0.3:  # "the distinct names of ..." (Spider train: 12 of these 27 queries)
            query = query.distinct()
        return Draft(
            "above_average",
            d.say(
                [
                    "Which {s} have {ac} {rel} {than} {c}{of}? Give me the {l}.",
                    "List the {l} of {s} whose {c} is {rel} {than} {c}{of}.",
                    "Find the {l} of the {s} with {ac} {rel} {than} {c}{of}.",
                ],
                s=s,
                c=c,
                ac=ac,
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
                    "How many {s} have {ac} {ab} the average?",
                    "Count the {s} whose {c} is {ab} the average {c}.",
                    "What is the number of {s} with {c} {ab} average?",
                ],
                s=s,
                c=c,
                ac=ac,
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
                "Which {s} have {ac} {ab} the average? Give me the {l}.",
                "List the {l} of {s} whose {c} is {ab} average.",
                "Find the {l} of the {s} with {ac} {ab} the average {c}.",
                "What are the {l} of {s} with {c} {ab} average?",
            ],
            s=s,
            c=c,
            ac=ac,
            ab=ab,
            l=d.columns_words(outputs, plural=True),
        ),
        query,
    )


def _joined_comparison(d: Drafter) -> Draft | None:
    """The label of rows joined to a row whose number is above the average of its table, or the largest: "the names
    of the customers whose checking balance is below the average", "the scientists on the project with the most
    hours". One foreign key, either way; DISTINCT now and then where a row meets several."""
    hop = d.pick([h for h in d.hops if d.numbers(h.child) or d.numbers(h.parent) or is_link(d, h.child)])
    if hop is None:
        return None
    linked = _through(d, hop) if is_link(d, hop.child) and d.rng.random() < 0.5 else None
    if linked is not None:  # "the scientists assigned to the project with the most hours", through AssignedTo
        numbered, other, scope = linked.tables[2], hop.parent, linked
        if not d.numbers(numbered) or not d.label(other):
            return None
    else:
        ends = [
            (h, o)
            for h, o in ((hop.child, hop.parent), (hop.parent, hop.child))
            if d.numbers(h) and d.label(o)
        ]
        numbered, other = d.pick(ends) or (None, None)
        if numbered is None:
            return None
        scope = Scope([other, numbered], [hop])
    at = scope.alias(len(scope.tables) - 1)
    column = d.pick(d.numbers(numbered))
    name = d.weighted({"avg": 60, "max": 15, "min": 15})
    equal = name != "avg" and d.rng.random() < 0.7  # "the largest" itself, else "above the smallest"
    above = name == "min" if not equal and name != "avg" else d.rng.random() < 0.6
    inner = exp.Subquery(this=d.from_(Scope([numbered]), AGGREGATES[name][0](this=d.col(column))))
    compare = exp.EQ if equal else exp.GT if above else exp.LT
    outputs = _label_first(d, other)
    query = d.from_(scope, *[d.col(o, "T1") for o in outputs]).where(
        compare(this=d.col(column, at), expression=inner)
    )
    if fans_out(scope) and d.rng.random() < 0.5:
        query = query.distinct()
    c = d.words(column)
    extreme = "largest" if name == "max" else "smallest"
    if equal:
        phrasings = [
            "What are the {l} of the {s} {r}whose {c} {is_} the {hl}?",
            "List the {l} of {s} {r}with the {hl} {c}.",
            "Find the {l} of the {s} {r}with the {hl} {c}.",
        ]
    else:
        phrasings = [
            "What are the {l} of the {s} {r}whose {c} {is_} {how}?",
            "List the {l} of {s} {r}whose {c} {is_} {how}.",
            "Find the {l} of the {s} {r}with {ac} {how}.",
        ]
    if name == "avg":
        how = f"{'above' if above else 'below'} the average"
    else:
        how = f"{'greater' if above else 'less'} than the {extreme} {c}"
    rel = relation(d, scope, 0, len(scope.tables) - 1, attribute=True)
    return Draft(
        "above_average",
        d.say(
            phrasings,
            who=d.is_person(other),
            l=d.columns_words(outputs, plural=True),
            s=d.nouns(other)[1],
            r=f"{rel} " if rel else "",
            c=c,
            is_=is_or_are(c),
            ac=article(c) if is_or_are(c) == "is" else c,  # "a balance", "hours"
            hl=extreme,
            how=how,
        ),
        query,
    )


def _label_first(d: Drafter, table) -> list:
    """The label, and a quarter of the time one other column (joins._outputs adds ids too, and draws otherwise)."""
    label, others = d.label(table), [c for c in d.shown(table) if c is not d.label(table)]
    return [label] + (d.rng.sample(others, 1) if others and d.rng.random() < 0.25 else [])


def set_operation(d: Drafter) -> Draft | None:
    """Values of a column that rows with two different conditions share (INTERSECT), either of them has (UNION),
    or one has and the other not (EXCEPT)."""
    table, categories = d.pick(d.tables_with(lambda t: [c for c in d.shown(t) if c.distinct > 1])) or (
        None,
        None,
    )
    if table is None:
        return None
    # values many rows share (a country, a publisher) mostly: of a column that names one row, rows with two
    # different conditions rarely share a value, and the query answers nothing
    shared = [c for c in d.categories(table) if not d.is_key(table, c)]
    column = d.pick(shared if shared and d.rng.random() < 0.7 else categories)
    scope = Scope([table])
    first, second = condition(d, table, avoid=(column,)), condition(d, table, avoid=(column,))
    numbers = [n for n in d.numbers(table) if n is not column and len(numeric(n.examples)) > 1]
    if (
        numbers and d.rng.random() < 0.3
    ):  # "the locations of shops opened after 2012 and of shops before 2008"
        number = d.pick(numbers)
        low, high = (sorted({round_2(v) for v in d.rng.sample(numeric(number.examples), 2)}) + [None])[:2]
        if high is not None:
            n = d.words(number)
            first = Condition(
                exp.GT(this=d.col(number), expression=literal(high)),
                table,
                number,
                f"whose {n} {is_or_are(n)} above {spoken_value(high)}",
            )
            second = Condition(
                exp.LT(this=d.col(number), expression=literal(low)),
                table,
                number,
                f"whose {n} {is_or_are(n)} below {spoken_value(low)}",
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
    return Draft(kind, d.say(phrasing, who=d.is_person(table), cs=cs, s=s, a=a, b=b), query)


COMPOUND_TEMPLATES = [
    above_average,
    set_operation,
]
