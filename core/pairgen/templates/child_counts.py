"""Pair templates along one foreign key, parent <- child, that count the children: each parent with the number (or
an aggregate) of its children, the parent with the most (or the fewest) children, parents with at least N (parents
without any are in without.py). Rows are grouped by the parent's key, never by a name two rows can share (joins.py
holds the helpers the join templates share); the templates that pick rows by values are in join_values.py.
"""

from sqlglot import exp

from core.pairgen.draft import Drafter
from core.pairgen.literals import AGGREGATES, literal
from core.pairgen.phrasing import spoken_value
from core.pairgen.scope import Draft, Hop, Scope
from core.pairgen.templates.conditions import count_condition
from core.pairgen.templates.filters import condition, threshold
from core.pairgen.templates.joins import _children, _grouped, _hop, _keys, _outputs, _through


def parent_count(d: Drafter) -> Draft | None:
    """Each parent's label with the number of its children (or an aggregate of a child number)."""
    hop = _hop(d, per_parent=True)
    if hop is None:
        return None
    label = d.label(hop.parent)
    numbers = d.numbers(hop.child)
    p, c, lw = d.nouns(hop.parent)[0], _children(d, hop), d.words(label)
    if numbers and d.rng.random() < 0.3:
        number, name = d.pick(numbers), d.weighted({"avg": 9, "sum": 6, "max": 2, "min": 2})
        func, words = AGGREGATES[name]
        outputs = _outputs(d, hop.parent)
        lw = d.columns_words(outputs)
        parts = [*[d.col(c, "T2") for c in outputs], func(this=d.col(number, "T1"))]
        query = _grouped(d, hop, *(parts if d.rng.random() < 0.7 else parts[::-1]))
        return Draft(
            "parent_aggregate",
            d.say(
                [
                    "What is the {f} {n} of the {c} of each {p}? Show the {p} {l}.",
                    "For each {p}, show its {l} and the {f} {n} of its {c}.",
                    "List each {p}'s {l} and the {f} {n} of its {c}.",
                    "Show the {l} of every {p} with the {f} {n} of their {c}.",
                ],
                who=d.is_person(hop.parent),
                f=d.rng.choice(words),
                n=d.words(number),
                c=c,
                p=p,
                l=lw,
            ),
            query,
        )
    outputs = _outputs(d, hop.parent)
    lw = d.columns_words(outputs)
    through = _through(d, hop) if d.rng.random() < 0.4 else None
    alias = "T1" if through is not None else "T2"
    parts = [*[d.col(c, alias) for c in outputs], exp.Count(this=exp.Star())]
    query = _grouped(d, hop, *(parts if d.rng.random() < 0.75 else parts[::-1]), scope=through, alias=alias)
    cond = _counted_condition(d, hop, through, 0.12)
    if cond is not None:  # "How many students older than 20 does each dorm have?"
        query = query.where(cond.expr)
        c = f"{c} {cond.words}"
    return Draft(
        "parent_count",
        d.say(
            [
                "Show each {p}'s {l} and the number of {c} it has.",
                "How many {c} does each {p} have? Show the {p} {l}.",
                "List the {l} of every {p} and how many {c} it has.",
                "For each {p}, give its {l} and the number of {c}.",
                "Show the {l} of each {p} and the number of {c} for it.",
                "What is the number of {c} of each {p}, by {l}?",
            ],
            who=d.is_person(hop.parent),
            p=p,
            l=lw,
            c=c,
        ),
        query,
    )


def parent_top(d: Drafter) -> Draft | None:
    """The parent with the most (or the fewest) children: its label, maybe with another column."""
    hop = _hop(d)
    if hop is None:
        return None
    most = d.rng.random() < 0.85
    outputs = _outputs(d, hop.parent)
    count = exp.Count(this=exp.Star())
    through = _through(d, hop) if d.rng.random() < 0.4 else None
    if through is not None:  # the link table and what it links to, all joined
        query = _grouped(d, hop, *[d.col(c, "T1") for c in outputs], scope=through, alias="T1")
        cond = _counted_condition(d, hop, through, 0.12)
        if cond is not None:
            query = query.where(cond.expr)
        query = query.order_by(d.ordered(count, most)).limit(1)
        return Draft(
            "parent_top",
            d.say(
                [
                    "Which {p} has the {m} {c}? Give me the {o}.",
                    "What is the {o} of the {p} with the {m} {c}?",
                    "Find the {o} of the {p} that has the {m} {c}.",
                ],
                who=d.is_person(hop.parent),
                p=d.nouns(hop.parent)[0],
                m="most" if most else "fewest",
                c=d.nouns(through.tables[2])[1] + (f" {cond.words}" if cond is not None else ""),
                o=d.columns_words(outputs),
            ),
            query,
        )
    query = _grouped(d, hop, *[d.col(c, "T2") for c in outputs])
    numbers = d.numbers(hop.child)
    if numbers and d.rng.random() < 0.2:  # "the customer with the highest total of payments"
        number, name = d.pick(numbers), d.weighted({"sum": 11, "avg": 6})
        func, words = AGGREGATES[name]
        if d.rng.random() < 0.3:  # "... and that average"
            query = query.select(func(this=d.col(number, "T1")))
            outputs = [*outputs, f"{words[0]} {d.words(number)}"]
        query = query.order_by(d.ordered(func(this=d.col(number, "T1")), most)).limit(1)
        return Draft(
            "parent_top",
            d.say(
                [
                    "Which {p} has the {hl} {f} {n} of {c}? Give me the {o}.",
                    "What is the {o} of the {p} whose {c} have the {hl} {f} {n}?",
                    "Find the {o} of the {p} with the {hl} {f} {n} of its {c}.",
                ],
                who=d.is_person(hop.parent),
                p=d.nouns(hop.parent)[0],
                hl="highest" if most else "lowest",
                f=d.rng.choice(words),
                n=d.words(number),
                c=d.nouns(hop.child)[1],
                o=d.columns_words(outputs),
            ),
            query,
        )
    cond = condition(d, hop.child, "T1", kinds=("eq", "cmp", "like")) if d.rng.random() < 0.15 else None
    if cond is not None:  # "the stadium with the most concerts in 2014"
        query = query.where(cond.expr)
    if d.rng.random() < 0.15:  # "... and how many it has"
        query = query.select(count.copy())
        outputs = [*outputs, f"number of {_children(d, hop)}"]
    query = query.order_by(d.ordered(count, most)).limit(1)
    return Draft(
        "parent_top",
        d.say(
            [
                "Which {p} has the {m} {c}? Give me the {o}.",
                "What is the {o} of the {p} with the {m} {c}?",
                "Find the {o} of the {p} that has the {m} {c}.",
                "Show the {o} of the {p} with the {m} number of {c}.",
                "Return the {o} of the {p} with the {m} {c}.",
            ],
            who=d.is_person(hop.parent),
            p=d.nouns(hop.parent)[0],
            m="most" if most else "fewest",
            c=_children(d, hop) + (f" {cond.words}" if cond is not None else ""),
            o=d.columns_words(outputs),
        ),
        query,
    )


def parent_having(d: Drafter) -> Draft | None:
    """Parents with at least (or more than) N children."""
    hop = _hop(d, lambda h: h.child.rows >= 4, per_parent=True)
    if hop is None:
        return None
    outputs = _outputs(d, hop.parent)
    numbers = d.numbers(hop.child)
    if numbers and d.rng.random() < 0.15:  # "the customers whose payments total more than 5000"
        number, name = d.pick(numbers), d.weighted({"sum": 3, "avg": 2})
        value, above = threshold(d, number), d.rng.random() < 0.75
        if value is None:
            return None
        func = AGGREGATES[name][0]
        compare = (exp.GT if above else exp.LT)(
            this=func(this=d.col(number, "T1")), expression=literal(value)
        )
        return Draft(
            "parent_having",
            d.say(
                [
                    "Which {ps} have {c} with {fa} {n} {ab} {v}? Show their {l}.",
                    "List the {l} of {ps} whose {c} have {fa} {n} {ab} {v}.",
                    "What are the {l} of the {ps} whose {c} have {fa} {n} {ab} {v}?",
                ],
                who=d.is_person(hop.parent),
                ps=d.nouns(hop.parent)[1],
                c=_children(d, hop),
                fa="a total" if name == "sum" else "an average",
                n=d.words(number),
                ab="above" if above else "below",
                v=spoken_value(value),
                l=d.columns_words(outputs, plural=True),
            ),
            _grouped(d, hop, *[d.col(c, "T2") for c in outputs]).having(compare),
        )
    cond, n = count_condition(d, d.col(hop.child_col, "T1"))  # a child joined to its parent names it
    query = _grouped(d, hop, *[d.col(c, "T2") for c in outputs]).having(cond)
    among = _counted_condition(d, hop, None, 0.1)
    if among is not None:  # "the dorms with at least two students older than 20"
        query = query.where(among.expr)
    return Draft(
        "parent_having",
        d.say(
            [
                "Which {ps} have {n} {c}? Show their {l}.",
                "List the {l} of {ps} with {n} {c}.",
                "Show the {l} of every {p} that has {n} {c}.",
                "What are the {l} of the {ps} that have {n} {c}?",
            ],
            who=d.is_person(hop.parent),
            ps=d.nouns(hop.parent)[1],
            p=d.nouns(hop.parent)[0],
            n=n,
            c=_children(d, hop) + (f" {among.words}" if among is not None else ""),
            l=d.columns_words(outputs, plural=True),
        ),
        query,
    )


def _counted_condition(d: Drafter, hop: Hop, through: Scope | None, rate: float):
    """Now and then a condition on the rows counted per parent (Spider train: 71 of 768 grouped joins have a WHERE):
    on the child (T1), or through a link table on the table it links to (T3); never on a key."""
    if d.rng.random() >= rate:
        return None
    table, alias = (through.tables[2], "T3") if through is not None else (hop.child, "T1")
    return condition(d, table, alias, kinds=("eq", "cmp"), avoid=_keys(d, table))


CHILD_COUNT_TEMPLATES = [
    parent_count,
    parent_top,
    parent_having,
]
