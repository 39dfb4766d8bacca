"""Pair templates along one foreign key, parent <- child, that count the children: each parent with the number (or
an aggregate) of its children, the parent with the most (or the fewest) children, parents with at least N, parents
without any (NOT IN, EXCEPT). Rows are grouped by the parent's key, never by a name two rows can share (joins.py
holds the helpers the join templates share); the templates that pick rows by values are in join_values.py.
"""

from sqlglot import exp

from core.pairgen.draft import Drafter
from core.pairgen.literals import AGGREGATES, literal
from core.pairgen.phrasing import spoken_value
from core.pairgen.scope import Draft, Hop, Scope
from core.pairgen.templates.conditions import count_condition
from core.pairgen.templates.filters import condition, threshold
from core.pairgen.templates.joins import _children, _grouped, _hop, _outputs, _through


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


def without(d: Drafter) -> Draft | None:
    """Parents no child refers to: NOT IN (or EXCEPT), their labels or how many there are."""
    hop = _hop(d)
    if hop is None:
        return None
    label = d.label(hop.parent)
    ps, c, lw = d.nouns(hop.parent)[1], _children(d, hop), d.words_plural(label)
    inner = exp.select(d.col(hop.child_col)).from_(d.tab(hop.child))
    if (hop.child.column(hop.child_col) or hop.parent.columns[0]).nulls:  # NOT IN over a NULL is never true
        inner = inner.where(exp.Not(this=exp.Is(this=d.col(hop.child_col), expression=exp.Null())))
    # never on the child's keys: "pets with no student whose student id is 1001" asks about the join itself
    keys = _keys(d, hop.child)
    inner_cond = condition(d, hop.child, avoid=keys) if d.rng.random() < 0.25 else None
    if inner_cond is not None:  # "the architects without a mill built before 1850"
        inner = inner.where(inner_cond.expr)
        c = f"{c} {inner_cond.words}"
    shape = d.weighted({"not_in": 45, "count": 18, "except": 37, "aggregate": 6})
    linked = _through(d, hop) if inner_cond is None and d.rng.random() < 0.3 else None
    if linked is not None:  # "the students who do not have a cat": a value of the table the link leads to
        return _without_linked(d, hop, linked, shape)
    cond = exp.Not(this=exp.In(this=d.col(hop.parent_col), query=exp.Subquery(this=inner)))
    numbers = d.numbers(hop.parent)
    if shape == "aggregate" and numbers:  # "the average age of the students who have no pet"
        number = d.pick(numbers)
        return Draft(
            "without_average",
            d.say(
                [
                    "What is the average {n} of the {ps} that have no {c}?",
                    "Find the average {n} of {ps} without any {c}.",
                    "Show the average {n} of all {ps} with no {c}.",
                ],
                who=d.is_person(hop.parent),
                n=d.words(number),
                ps=ps,
                c=c,
            ),
            exp.select(exp.Avg(this=d.col(number))).from_(d.tab(hop.parent)).where(cond),
        )
    if shape == "aggregate":
        return None
    outputs = _outputs(d, hop.parent) if shape == "not_in" or d.rng.random() < 0.3 else [label]
    lw = d.columns_words(outputs, plural=True)
    # how many, or now and then "all the information about the X that have no Y"
    if shape == "count" or (shape == "not_in" and d.rng.random() < 0.08):
        star = shape != "count"
        return Draft(
            "without" if star else "without_count",
            d.say(
                [
                    "What is all the information about {ps} without any {c}?",
                    "What are all the details of the {ps} that have no {c}?",
                    "Show all information about the {ps} that do not have any {c}.",
                ]
                if star
                else [
                    "How many {ps} have no {c}?",
                    "Count the {ps} without any {c}.",
                    "What is the number of {ps} that have no {c}?",
                ],
                who=d.is_person(hop.parent),
                ps=ps,
                c=c,
            ),
            exp.select(exp.Star() if star else exp.Count(this=exp.Star()))
            .from_(d.tab(hop.parent))
            .where(cond),
        )
    if shape == "except" and inner_cond is None and d.rng.random() < 0.5:  # "the ids of X that have no Y"
        query = exp.except_(
            exp.select(d.col(hop.parent_col)).from_(d.tab(hop.parent)),
            exp.select(d.col(hop.child_col)).from_(d.tab(hop.child)),
            distinct=True,
        )
        return Draft(
            "without",
            d.say(
                [
                    "What are the {ids} of the {ps} that have no {c}?",
                    "Show the {ids} of {ps} without any {c}.",
                    "List the {ids} of all {ps} with no {c}.",
                ],
                who=d.is_person(hop.parent),
                ids=d.words_plural(hop.parent.column(hop.parent_col)),
                ps=ps,
                c=c,
            ),
            query,
        )
    if shape == "except":
        joined = d.from_(Scope([hop.child, hop.parent], [hop]), *[d.col(o, "T2") for o in outputs])
        if inner_cond is not None:  # the condition, on the child's alias in the join
            joined = joined.where(
                inner_cond.expr.transform(
                    lambda node: d.col(node.name, "T1") if isinstance(node, exp.Column) else node
                )
            )
        query = exp.except_(
            exp.select(*[d.col(o) for o in outputs]).from_(d.tab(hop.parent)), joined, distinct=True
        )
        # its own wordings: a question already kept for the NOT IN form would drop this one as a duplicate
        phrasings = [
            "Show the {l} of every {p} that has no {c}.",
            "What are the {l} of the {ps} with no {c} at all?",
            "Give me the {l} of {ps} that have no {c}.",
        ]
    else:
        query = exp.select(*[d.col(c) for c in outputs]).from_(d.tab(hop.parent)).where(cond)
        phrasings = [
            "Which {ps} have no {c}? Show their {l}.",
            "List the {l} of {ps} without any {c}.",
            "Find the {l} of the {ps} that do not have any {c}.",
        ]
    return Draft(
        "without",
        d.say(
            phrasings,
            who=d.is_person(hop.parent),
            ps=ps,
            p=d.nouns(hop.parent)[0],
            c=c,
            l=lw,
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


def _keys(d: Drafter, table) -> tuple:
    """The table's key columns (its own and its foreign keys): a condition on one asks about the join itself."""
    return tuple(c for c in table.columns if d.is_key(table, c))


def _without_linked(d: Drafter, hop: Hop, linked: Scope, shape: str) -> Draft | None:
    """Parents linked to no row of the far table with a value (parent <- link -> other: "Which students have no
    pet whose type is cat?"): NOT IN over the link joined to the other table, EXCEPT over all three, or a count."""
    other = linked.tables[2]
    far = condition(d, other, "T2", kinds=("eq", "cmp"))
    if far is None or shape == "aggregate":
        return None
    label = d.label(hop.parent)
    inner = d.from_(Scope(linked.tables[1:], linked.hops[1:]), d.col(hop.child_col, "T1")).where(far.expr)
    cond = exp.Not(this=exp.In(this=d.col(hop.parent_col), query=exp.Subquery(this=inner)))
    if shape == "except":
        outputs = [label]
        retagged = far.expr.transform(lambda n: d.col(n.name, "T3") if isinstance(n, exp.Column) else n)
        joined = d.from_(linked, d.col(label, "T1")).where(retagged)
        query = exp.except_(exp.select(d.col(label)).from_(d.tab(hop.parent)), joined, distinct=True)
    elif shape == "count":
        outputs, query = [], exp.select(exp.Count(this=exp.Star())).from_(d.tab(hop.parent)).where(cond)
    else:
        outputs = _outputs(d, hop.parent)
        query = exp.select(*[d.col(c) for c in outputs]).from_(d.tab(hop.parent)).where(cond)
    phrasings = (
        [
            "How many {ps} have no {o} {w}?",
            "Count the {ps} that are not linked to any {o1} {w}.",
            "What is the number of {ps} without a {o1} {w}?",
        ]
        if shape == "count"
        else [
            "Which {ps} have no {o} {w}? Show their {l}.",
            "What are the {l} of the {ps} that do not have any {o1} {w}?",
            "Find the {l} of the {ps} without a {o1} {w}.",
        ]
    )
    return Draft(
        "without_count" if shape == "count" else "without",
        d.say(
            phrasings,
            who=d.is_person(hop.parent),
            ps=d.nouns(hop.parent)[1],
            o=d.nouns(other)[1],
            o1=d.nouns(other)[0],
            w=far.words,
            l=d.columns_words(outputs, plural=True) if outputs else "",
        ),
        query,
    )


JOIN_TEMPLATES = [
    parent_count,
    parent_top,
    parent_having,
    without,
]
