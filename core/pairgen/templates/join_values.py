"""Pair templates along one foreign key that pick rows by values: parents with children of two kinds (INTERSECT) or
with a child of one value (also as IN (subquery)), rows linked through a link table to rows with a value ("the
students who have both a cat and a dog"), a column two tables share (UNION, INTERSECT, EXCEPT), and the parent's
attribute for the child's rows ("the names of the players", where the name lives in the parent table). The shared
join helpers are in joins.py; drawn with the weights of core.pairgen.generator.WEIGHTS.
"""

from sqlglot import exp

from core.pairgen.draft import Drafter
from core.pairgen.literals import literal
from core.pairgen.phrasing import article, plural_words
from core.pairgen.scope import Draft, Scope
from core.pairgen.templates.conditions import link_relation
from core.pairgen.templates.filters import condition
from core.pairgen.templates.joins import _hop, _outputs


def parent_of_children(d: Drafter) -> Draft | None:
    """Parents that have a child with one value and a child with another (INTERSECT), or a child with a value."""
    hop = _hop(d, lambda h: d.categories(h.child) or d.texts(h.child))
    if hop is None:
        return None
    outputs = _outputs(d, hop.parent)  # "the names and ids of the ..." now and then
    column = d.pick(d.categories(hop.child) or d.texts(hop.child))
    if len(column.examples) < 2:
        return None
    a, b = d.rng.sample(column.examples, 2)
    scope = Scope([hop.child, hop.parent], [hop])

    def side(value):
        return d.from_(scope, *[d.col(c, "T2") for c in outputs]).where(
            exp.EQ(this=d.col(column, "T1"), expression=literal(value))
        )

    ps, c1, cw = d.nouns(hop.parent)[1], d.nouns(hop.child)[0], d.words(column)
    if d.rng.random() < 0.5:
        return Draft(
            "both",
            d.say(
                [
                    "Which {ps} have both {ca} with {cw} {a} and {ca} with {cw} {b}? Give me the {l}.",
                    "List the {l} of {ps} that have {ca} whose {cw} is {a} and also one whose {cw} is {b}.",
                    "Show the {l} of the {ps} with {c1} {cw} {a} as well as {b}.",
                ],
                who=d.is_person(hop.parent),
                ps=ps,
                ca=article(c1),
                c1=c1,
                cw=cw,
                a=a,
                b=b,
                l=d.columns_words(outputs, plural=True),
            ),
            exp.intersect(side(a), side(b), distinct=True),
        )
    return Draft(
        "parent_filter",
        d.say(
            [
                "Which {ps} have {ca} whose {cw} is {a}? Give me the {l}.",
                "List the {l} of {ps} that have {ca} with {cw} {a}.",
                "Show the distinct {l} of {ps} with {ca} of {cw} {a}.",
            ],
            who=d.is_person(hop.parent),
            ps=ps,
            ca=article(c1),
            cw=cw,
            a=a,
            l=d.columns_words(outputs, plural=True),
        ),
        side(a).distinct(),
    )


def through_link(d: Drafter) -> Draft | None:
    """Rows of one table linked (through a link table) to rows of another with a value, or with both of two values:
    "the students who have both a cat and a dog"."""
    links = [
        (a, b)
        for a in d.hops
        for b in d.hops
        if a.child is b.child
        and a.parent is not b.parent
        and d.label(a.parent)
        and (d.categories(b.parent) or d.texts(b.parent))
    ]
    if not links:
        return None
    first, second = d.pick(links)
    label = d.label(first.parent)
    column = d.pick(d.categories(second.parent) or d.texts(second.parent))
    if len(column.examples) < 2:
        return None
    a, b = d.rng.sample(column.examples, 2)
    scope = Scope([first.parent, first.child, second.parent], [first, second])

    def side(value):
        return d.from_(scope, d.col(label, "T1")).where(
            exp.EQ(this=d.col(column, "T3"), expression=literal(value))
        )

    ps, far, cw = d.nouns(first.parent)[1], d.nouns(second.parent)[0], d.words(column)
    lw = d.words_plural(label)
    rel = link_relation(d, scope, 0, 2) or f"linked to {article(far)}"  # "that live in a dorm"
    if d.rng.random() < 0.5:
        return Draft(
            "both",
            d.say(
                [
                    "Which {ps} have both {fa} with {cw} {a} and {fa} with {cw} {b}? Give me the {l}.",
                    "Find the {l} of the {ps} {rel} whose {cw} is {a} as well as one whose {cw} is {b}.",
                    "List the {l} of {ps} that have {fa} of {cw} {a} as well as one of {cw} {b}.",
                ],
                who=d.is_person(first.parent),
                ps=ps,
                fa=article(far),
                cw=cw,
                a=a,
                b=b,
                l=lw,
                rel=rel,
            ),
            exp.intersect(side(a), side(b), distinct=True),
        )
    return Draft(
        "list",
        d.say(
            [
                "What are the {l} of the {ps} {rel} whose {cw} is {a}?",
                "List the {l} of {ps} that have {fa} with {cw} {a}.",
                "Show the {l} of all {ps} with {fa} of {cw} {a}.",
            ],
            who=d.is_person(first.parent),
            ps=ps,
            fa=article(far),
            cw=cw,
            a=a,
            l=lw,
            rel=rel,
        ),
        side(a).distinct(),
    )


def in_subquery(d: Drafter) -> Draft | None:
    """Parents that have a child with a value, asked with IN (subquery), as many people write it."""
    hop = _hop(d, lambda h: d.texts(h.child) or d.numbers(h.child))
    if hop is None:
        return None
    cond = condition(d, hop.child, kinds=("eq", "cmp"))
    if cond is None:
        return None
    inner = exp.select(d.col(hop.child_col)).from_(d.tab(hop.child)).where(cond.expr)
    outputs = _outputs(d, hop.parent)
    query = (
        exp.select(*[d.col(c) for c in outputs])
        .from_(d.tab(hop.parent))
        .where(exp.In(this=d.col(hop.parent_col), query=exp.Subquery(this=inner)))
    )
    return Draft(
        "in_subquery",
        d.say(
            [
                "What are the {l} of the {ps} that have {ca} {w}?",
                "List the {l} of {ps} with {ca} {w}.",
                "Show the {l} of every {p} that has at least one {c} {w}.",
            ],
            who=d.is_person(hop.parent),
            l=d.columns_words(outputs, plural=True),
            ps=d.nouns(hop.parent)[1],
            p=d.nouns(hop.parent)[0],
            ca=article(d.nouns(hop.child)[0]),
            c=d.nouns(hop.child)[0],
            w=cond.words,
        ),
        query,
    )


def across_tables(d: Drafter) -> Draft | None:
    """A column two tables share (the phone numbers of customers and of staff, the cities of both): UNION,
    INTERSECT or EXCEPT of the two tables' values."""
    pairs = [
        (a, b, ca, cb)
        for a in d.tables
        for b in d.tables
        if a is not b
        for ca in d.shown(a)
        for cb in d.shown(b)
        if ca.name.lower() == cb.name.lower() and ca.kind == cb.kind and not d.big(a) and not d.big(b)
    ]
    if not pairs:
        return None
    a, b, ca, cb = d.pick(pairs)
    kind = d.weighted({"union": 50, "intersect": 35, "except": 15})
    op = {"union": exp.union, "intersect": exp.intersect, "except": exp.except_}[kind]
    query = op(exp.select(d.col(ca)).from_(d.tab(a)), exp.select(d.col(cb)).from_(d.tab(b)), distinct=True)
    phrasing = {
        "union": [
            "What are the {cs} of all {a} and all {b}?",
            "List the {cs} of both {a} and {b}.",
            "Show every {c} that {a} or {b} have.",
        ],
        "intersect": [
            "Which {cs} do both {a} and {b} have?",
            "List the {cs} shared by {a} and {b}.",
            "Show the {cs} that appear among {a} as well as {b}.",
        ],
        "except": [
            "Which {cs} do {a} have that no {b1} has?",
            "List the {cs} of {a} that are not {cs} of {b}.",
            "Show the {cs} of {a}, except those of {b}.",
        ],
    }[kind]
    return Draft(
        kind,
        d.say(
            phrasing, cs=d.words_plural(ca), c=d.words(ca), a=d.nouns(a)[1], b=d.nouns(b)[1], b1=d.nouns(b)[0]
        ),
        query,
    )


def child_with_parent(d: Drafter) -> Draft | None:
    """The parent's attribute for the child's rows: "the names of the players" where the name lives in the parent
    table; with the child's own column beside it, or filtered on a child value."""
    hop = _hop(d)
    if hop is None:
        return None
    label = d.label(hop.parent)
    scope = Scope([hop.child, hop.parent], [hop])
    p, ps = d.nouns(hop.parent)
    # rides with a start and an end station: "the name of their start station", not "their station"
    if hop.shared:
        p = hop.role()
        ps = plural_words(p)
    own = d.pick([c for c in d.shown(hop.child)])
    outputs = [d.col(label, "T2")] + ([d.col(own, "T1")] if own is not None and d.rng.random() < 0.5 else [])
    if len(outputs) == 1 and d.rng.random() < 0.3:  # several of the parent's columns for each child row
        more = [c for c in d.shown(hop.parent) if c is not label][:2]
        if more:
            outputs += [d.col(c, "T2") for c in more]
            label_words = d.columns_words([label, *more])
            query = d.from_(scope, *outputs)
            cs = d.nouns(hop.child)[1]
            return (
                Draft(
                    "child_with_parent",
                    d.say(
                        [
                            "Show the {l} of the {p} of each of the {cs}.",
                            "For each of the {cs}, list the {l} of its {p}.",
                            "What are the {l} of the {p} of every one of the {cs}?",
                        ],
                        l=label_words,
                        p=p,
                        cs=cs,
                    ),
                    query,
                )
                if not d.big(hop.child)
                else None
            )
    cond = condition(d, hop.child, "T1", avoid=(own,)) if d.rng.random() < 0.5 else None
    if d.big(hop.child) and cond is None:
        return None
    query = d.from_(scope, *outputs)
    if cond is not None:
        query = query.where(cond.expr)
    cs = d.nouns(hop.child)[1]
    w = f" {cond.words}" if cond is not None else ""
    lw = d.words_plural(label)
    if len(outputs) == 2:
        return Draft(
            "child_with_parent",
            d.say(
                [
                    "Show the {p} {l} and the {o} of each of the {cs}{w}.",
                    "List the {os} of {cs}{w} and the {l} of their {p}.",
                    "For each of the {cs}{w}, give its {o} and its {p}'s {l}.",
                    "What are the {os} of the {cs}{w} and the {l} of their {p}?",
                ],
                p=p,
                l=d.words(label),
                o=d.words(own),
                os=d.words_plural(own),
                cs=cs,
                w=w,
            ),
            query,
        )
    return Draft(
        "child_with_parent",
        d.say(
            [
                # "the names of the rides" could be either station's: with two ways to the parent, say which
                "What are the {l} of the {ps} of the {cs}{w}?"
                if hop.shared
                else "What are the {l} of the {cs}{w}?",
                "Show the {p} {l} of all {cs}{w}.",
                "List the {l} of the {ps} of {cs}{w}.",
                "Give the {p} {l} of each of the {cs}{w}." if hop.shared else "Give the {l} of the {cs}{w}.",
            ],
            l=lw,
            p=p,
            ps=ps,
            cs=cs,
            w=w,
        ),
        query,
    )


JOIN_VALUE_TEMPLATES = [
    parent_of_children,
    through_link,
    in_subquery,
    across_tables,
    child_with_parent,
]
