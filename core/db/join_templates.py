"""Pair templates along one foreign key, parent <- child: each parent with the number (or an aggregate) of its
children, the parent with the most children, parents with at least N, parents without any (NOT IN, EXCEPT),
parents with children of two kinds (INTERSECT), and the parent's attribute for the child's rows ("the names of the
players", where the name lives in the parent table). Rows are grouped by the parent's key, never by a name two rows
can share; a child that refers to one parent twice (follower/followed) names the column it goes through.
"""

from sqlglot import exp

from core.db.draft import AGGREGATES, MAX_ROWS, Draft, Drafter, Hop, Scope, count_condition, literal
from core.db.phrasing import article


def _hop(d: Drafter, need=lambda h: True, per_parent: bool = False) -> Hop | None:
    """A foreign key whose parent has a label; `per_parent`: the answer has a row per parent, so the parent table
    must be small enough to read (at most MAX_ROWS rows)."""
    return d.pick(
        [h for h in d.hops if d.label(h.parent) and need(h) and not (per_parent and h.parent.rows > MAX_ROWS)]
    )


# Dialects that let a query show a parent's other columns when it groups by the parent's primary key (SQLite and
# MySQL allow any column; PostgreSQL knows the key decides them). Elsewhere (DuckDB) the shown columns are grouped too.
KEY_DECIDES = {"sqlite": "any", "mysql": "any", "postgres": "primary key"}


def _grouped(d: Drafter, hop: Hop, *outputs, scope: Scope | None = None, alias: str = "T2") -> exp.Select:
    """SELECT outputs FROM child AS T1 JOIN parent AS T2 ... GROUP BY the parent's key (never by a name two rows
    can share), plus the shown columns where the dialect wants them. `scope`/`alias`: another join that holds the
    parent under that alias (through a link table)."""
    scope = scope or Scope([hop.child, hop.parent], [hop])
    key = d.key(hop.parent)
    rule = KEY_DECIDES.get(d.dialect)
    by = [d.col(key, alias)]
    if rule is None or (rule == "primary key" and not key.primary_key):
        by += [o.copy() for o in outputs if isinstance(o, exp.Column) and o.name != key.name]
    return d.from_(scope, *outputs).group_by(*by)


def _through(d: Drafter, hop: Hop) -> Scope | None:
    """parent <- link -> other, when the child is a link table (T1 the parent, T2 the link, T3 the other): the
    way people count "the concerts of each singer" with all three tables joined."""
    via = [h for h in d.hops if h.child is hop.child and h.parent is not hop.parent]
    return Scope([hop.parent, hop.child, via[0].parent], [hop, via[0]]) if len(via) == 1 else None


def _outputs(d: Drafter, table) -> list:
    """The parent's label, and now and then its id or another column beside it ("the id and name of ...")."""
    label = d.label(table)
    others = [c for c in d.shown(table) if c is not label]
    key = d.key(table)
    extra = d.weighted({0: 65, 1: 25, 2: 10})
    picked = d.rng.sample(others, min(extra, len(others))) if others else []
    if key is not None and key is not label and d.rng.random() < 0.2:
        picked = [key] + [c for c in picked if c is not key][:1]
    return [label] + picked


def _children(d: Drafter, hop: Hop) -> str:
    """The child rows, in words: 'cars'; for a link table, the table it links to ('concerts' for the singers of
    singer_in_concert); 'follows records as follower' when the child names the parent twice."""
    others = [h.parent for h in d.hops if h.child is hop.child and h.parent is not hop.parent]
    plain = [c for c in hop.child.columns if not d.is_key(hop.child, c)]
    if len(others) == 1 and len(plain) <= 2 and not hop.shared:
        return d.nouns(others[0])[1]
    return d.nouns(hop.child)[1] + hop.via()


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
        query = _grouped(d, hop, *[d.col(c, "T2") for c in outputs], func(this=d.col(number, "T1")))
        return Draft(
            "parent_aggregate",
            d.say(
                [
                    "What is the {f} {n} of the {c} of each {p}? Show the {p} {l}.",
                    "For each {p}, show its {l} and the {f} {n} of its {c}.",
                    "List each {p}'s {l} and the {f} {n} of its {c}.",
                    "Show the {l} of every {p} with the {f} {n} of their {c}.",
                ],
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
    query = _grouped(d, hop, *(parts if d.rng.random() < 0.8 else parts[::-1]), scope=through, alias=alias)
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
        query = query.order_by(d.ordered(count, most)).limit(1)
        return Draft(
            "parent_top",
            d.say(
                [
                    "Which {p} has the {m} {c}? Give its {o}.",
                    "What is the {o} of the {p} with the {m} {c}?",
                    "Find the {o} of the {p} linked to the {m} {c}.",
                ],
                p=d.nouns(hop.parent)[0],
                m="most" if most else "fewest",
                c=d.nouns(through.tables[2])[1],
                o=d.columns_words(outputs),
            ),
            query,
        )
    query = _grouped(d, hop, *[d.col(c, "T2") for c in outputs])
    numbers = d.numbers(hop.child)
    if numbers and d.rng.random() < 0.2:  # "the customer with the highest total of payments"
        number, name = d.pick(numbers), d.weighted({"sum": 11, "avg": 6})
        func, words = AGGREGATES[name]
        query = query.order_by(d.ordered(func(this=d.col(number, "T1")), most)).limit(1)
        return Draft(
            "parent_top",
            d.say(
                [
                    "Which {p} has the {hl} {f} {n} of {c}? Give its {o}.",
                    "What is the {o} of the {p} whose {c} have the {hl} {f} {n}?",
                    "Find the {o} of the {p} with the {hl} {f} {n} of its {c}.",
                ],
                p=d.nouns(hop.parent)[0],
                hl="highest" if most else "lowest",
                f=d.rng.choice(words),
                n=d.words(number),
                c=d.nouns(hop.child)[1],
                o=d.columns_words(outputs),
            ),
            query,
        )
    cond = d.condition(hop.child, "T1") if d.rng.random() < 0.15 else None
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
                "Which {p} has the {m} {c}? Give its {o}.",
                "What is the {o} of the {p} with the {m} {c}?",
                "Find the {o} of the {p} that has the {m} {c}.",
                "Show the {o} of the {p} with the {m} number of {c}.",
                "Return the {o} of the {p} with the {m} {c}.",
            ],
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
    cond, n = count_condition(d)
    query = _grouped(d, hop, *[d.col(c, "T2") for c in outputs]).having(cond)
    return Draft(
        "parent_having",
        d.say(
            [
                "Which {ps} have {n} {c}? Show their {l}.",
                "List the {l} of {ps} with {n} {c}.",
                "Show the {l} of every {p} that has {n} {c}.",
                "What are the {l} of the {ps} that have {n} {c}?",
            ],
            ps=d.nouns(hop.parent)[1],
            p=d.nouns(hop.parent)[0],
            n=n,
            c=_children(d, hop),
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
    inner_cond = d.condition(hop.child) if d.rng.random() < 0.25 else None
    if inner_cond is not None:  # "the architects without a mill built before 1850"
        inner = inner.where(inner_cond.expr)
        c = f"{c} {inner_cond.words}"
    cond = exp.Not(this=exp.In(this=d.col(hop.parent_col), query=exp.Subquery(this=inner)))
    shape = d.weighted({"not_in": 45, "count": 18, "except": 37})
    outputs = _outputs(d, hop.parent) if shape == "not_in" else [label]
    lw = d.columns_words(outputs, plural=True)
    if shape == "count":
        query = exp.select(exp.Count(this=exp.Star())).from_(d.tab(hop.parent)).where(cond)
        return Draft(
            "without_count",
            d.say(
                [
                    "How many {ps} have no {c}?",
                    "Count the {ps} without any {c}.",
                    "What is the number of {ps} that have no {c}?",
                ],
                ps=ps,
                c=c,
            ),
            query,
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
                ids=d.words_plural(hop.parent.column(hop.parent_col)),
                ps=ps,
                c=c,
            ),
            query,
        )
    if shape == "except":
        joined = d.from_(Scope([hop.child, hop.parent], [hop]), d.col(label, "T2"))
        if inner_cond is not None:  # the condition, on the child's alias in the join
            joined = joined.where(
                inner_cond.expr.transform(
                    lambda node: d.col(node.name, "T1") if isinstance(node, exp.Column) else node
                )
            )
        query = exp.except_(exp.select(d.col(label)).from_(d.tab(hop.parent)), joined, distinct=True)
    else:
        query = exp.select(*[d.col(c) for c in outputs]).from_(d.tab(hop.parent)).where(cond)
    return Draft(
        "without",
        d.say(
            [
                "Which {ps} have no {c}? Show their {l}.",
                "List the {l} of {ps} without any {c}.",
                "Show the {l} of every {p} that has no {c}.",
                "What are the {l} of the {ps} with no {c} at all?",
                "Find the {l} of the {ps} that do not have any {c}.",
            ],
            ps=ps,
            p=d.nouns(hop.parent)[0],
            c=c,
            l=lw,
        ),
        query,
    )


def parent_of_children(d: Drafter) -> Draft | None:
    """Parents that have a child with one value and a child with another (INTERSECT), or a child with a value."""
    hop = _hop(d, lambda h: d.categories(h.child) or d.texts(h.child))
    if hop is None:
        return None
    label = d.label(hop.parent)
    column = d.pick(d.categories(hop.child) or d.texts(hop.child))
    if len(column.examples) < 2:
        return None
    a, b = d.rng.sample(column.examples, 2)
    scope = Scope([hop.child, hop.parent], [hop])

    def side(value):
        return d.from_(scope, d.col(label, "T2")).where(
            exp.EQ(this=d.col(column, "T1"), expression=literal(value))
        )

    ps, c1, cw = d.nouns(hop.parent)[1], d.nouns(hop.child)[0], d.words(column)
    if d.rng.random() < 0.5:
        return Draft(
            "both",
            d.say(
                [
                    "Which {ps} have both {ca} with {cw} {a} and {ca} with {cw} {b}? Give their {l}.",
                    "List the {l} of {ps} that have {ca} whose {cw} is {a} and also one whose {cw} is {b}.",
                    "Show the {l} of the {ps} with {c1} {cw} {a} as well as {b}.",
                ],
                ps=ps,
                ca=article(c1),
                c1=c1,
                cw=cw,
                a=a,
                b=b,
                l=d.words_plural(label),
            ),
            exp.intersect(side(a), side(b), distinct=True),
        )
    return Draft(
        "parent_filter",
        d.say(
            [
                "Which {ps} have {ca} whose {cw} is {a}? Give their {l}.",
                "List the {l} of {ps} that have {ca} with {cw} {a}.",
                "Show the distinct {l} of {ps} with {ca} of {cw} {a}.",
            ],
            ps=ps,
            ca=article(c1),
            cw=cw,
            a=a,
            l=d.words_plural(label),
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
    if d.rng.random() < 0.5:
        return Draft(
            "both",
            d.say(
                [
                    "Which {ps} have both {fa} with {cw} {a} and {fa} with {cw} {b}? Give their {l}.",
                    "Find the {l} of the {ps} linked to {fa} whose {cw} is {a} and to one whose {cw} is {b}.",
                    "List the {l} of {ps} that have {fa} of {cw} {a} as well as one of {cw} {b}.",
                ],
                ps=ps,
                fa=article(far),
                cw=cw,
                a=a,
                b=b,
                l=lw,
            ),
            exp.intersect(side(a), side(b), distinct=True),
        )
    return Draft(
        "list",
        d.say(
            [
                "What are the {l} of the {ps} linked to {fa} whose {cw} is {a}?",
                "List the {l} of {ps} that have {fa} with {cw} {a}.",
                "Show the {l} of all {ps} with {fa} of {cw} {a}.",
            ],
            ps=ps,
            fa=article(far),
            cw=cw,
            a=a,
            l=lw,
        ),
        side(a).distinct(),
    )


def in_subquery(d: Drafter) -> Draft | None:
    """Parents that have a child with a value, asked with IN (subquery), as many people write it."""
    hop = _hop(d, lambda h: d.texts(h.child) or d.numbers(h.child))
    if hop is None:
        return None
    cond = d.condition(hop.child, kinds=("eq", "cmp"))
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
                        p=d.nouns(hop.parent)[0],
                        cs=cs,
                    ),
                    query,
                )
                if not d.big(hop.child)
                else None
            )
    cond = d.condition(hop.child, "T1", avoid=(own,)) if d.rng.random() < 0.5 else None
    if d.big(hop.child) and cond is None:
        return None
    query = d.from_(scope, *outputs)
    if cond is not None:
        query = query.where(cond.expr)
    cs, p = d.nouns(hop.child)[1], d.nouns(hop.parent)[0]
    w = f" {cond.words}" if cond is not None else ""
    lw = d.words_plural(label)
    if len(outputs) == 2:
        return Draft(
            "child_with_parent",
            d.say(
                [
                    "Show the {p} {l} and the {o} of each of the {cs}{w}.",
                    "List the {o} of {cs}{w} and the {l} of their {p}.",
                    "For each of the {cs}{w}, give its {o} and its {p}'s {l}.",
                ],
                p=p,
                l=d.words(label),
                o=d.words(own),
                cs=cs,
                w=w,
            ),
            query,
        )
    return Draft(
        "child_with_parent",
        d.say(
            [
                "What are the {l} of the {cs}{w}?",
                "Show the {p} {l} of all {cs}{w}.",
                "List the {l} of the {ps} of {cs}{w}.",
                "Give the {l} of the {cs}{w}.",
            ],
            l=lw,
            p=p,
            ps=d.nouns(hop.parent)[1],
            cs=cs,
            w=w,
        ),
        query,
    )


JOIN_TEMPLATES = [
    parent_count,
    parent_top,
    parent_having,
    without,
    parent_of_children,
    through_link,
    in_subquery,
    across_tables,
    child_with_parent,
]
