"""Pair templates of parents no child refers to, along one foreign key: their labels, how many there are, all about
them or an average of theirs ("the average age of the students who have no pet"), as NOT IN (subquery) or EXCEPT;
now and then with a condition on the children ("the architects without a mill built before 1850") or through a link
table to a value of the far table ("the students who do not have a cat"). The shared join helpers are in joins.py;
drawn with the weights of core.pairgen.generator.WEIGHTS.
"""

from sqlglot import exp

from core.pairgen.draft import Drafter
from core.pairgen.scope import Draft, Hop, Scope
from core.pairgen.templates.filters import condition
from core.pairgen.templates.joins import _children, _hop, _keys, _outputs, _through


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


WITHOUT_TEMPLATES = [without]
