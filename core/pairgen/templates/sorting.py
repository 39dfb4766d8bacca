"""Pair templates that sort: rows in the order of a column ("sorted by age", "from the oldest to the youngest"), and
the first one to five of them: a superlative ("the youngest singer", "the person whose candidate has the highest
support rate") or a top-N. Over one table or along foreign keys, with the conditions of conditions.py, built as the
templates of rows.py are; drawn with the weights of core.pairgen.generator.WEIGHTS.
"""

from core.pairgen.draft import Drafter
from core.pairgen.phrasing import superlative
from core.pairgen.scope import Draft
from core.pairgen.templates.conditions import conditions, fans_out, is_link, relation, where
from core.pairgen.templates.rows import WIDTH, subject_rows


def sorted_rows(d: Drafter) -> Draft | None:
    """Rows in the order of a column, or the first one to five of them (the highest, the lowest: a superlative)."""
    # A superlative may go from a parent to its children ("the name of the person whose candidate has the highest
    # support rate": Spider train asks it 26 times): one row per answer, so a parent met once per child stays true.
    # A whole sorted list only follows a child to its parent, so no row repeats.
    wants_top = d.rng.random() < 0.5
    scope = d.scope({0: 80, 1: 17, 2: 3}, many_to_one=not wants_top)
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
    top = wants_top and by.kind != "text"  # "the highest name" is no question
    if fans_out(scope) and not top:
        return None
    if by_at:
        conds, said, joiner = [], " " + relation(d, scope, 0, by_at), "and"
    else:
        conds, said, joiner = conditions(
            d, scope, d.weighted({0: 75, 1: 25}), avoid=outputs + [by], person=False
        )
    if (scope.joined and not conds and not by_at) or (
        any(d.big(t) for t in scope.tables) and not top and not conds
    ):
        return None
    desc = d.rng.random() < (0.7 if top else 0.45)
    query = where(d.from_(scope, *[d.col(c, scope.alias(0)) for c in outputs]), conds, joiner)
    if not top and outputs == [by] and d.rng.random() < 0.6:  # "the distinct names, in alphabetical order"
        query = query.distinct()
    query = query.order_by(d.ordered(d.col(by, scope.alias(by_at)), desc, by))
    rows, single = subject_rows(d, scope), d.nouns(table)[0]
    cols, b = d.columns_words(outputs), d.words(by)
    adjective = None if by_at else superlative(b, desc)  # "the youngest singer"
    if by_at:
        b = f"{d.nouns(far)[0]} {b}"
    if top:
        n = 1 if fans_out(scope) else d.weighted({1: 85, 3: 8, 5: 5, 10: 2})  # a parent met twice: top 1 only
        query = query.limit(n)
        hl = "highest" if desc else "lowest"
        big = "largest" if desc else "smallest"
        if by_at and n == 1:  # "the name of the person whose candidate has the highest support rate"
            return Draft(
                "superlative",
                d.say(
                    [  # a link table's columns read as the subject's: "the dorm with the lowest room number"
                        "What is the {c} of the {s1} with the {hl} {b}?",
                        "Find the {c} of the {s1} that has the {big} {b}.",
                        "Which {s1} has the {hl} {b}? Give me the {c}.",
                    ]
                    if is_link(d, far)
                    else [
                        "What is the {c} of the {s1} whose {o} has the {hl} {b}?",
                        "Which {s1} has the {o} with the {hl} {b}? Give me the {c}.",
                        "Find the {c} of the {s1} whose {o} has the {big} {b}.",
                    ],
                    who=d.is_person(table),
                    c=cols,
                    s1=single,
                    o=d.nouns(far)[0],
                    hl=hl,
                    big=big,
                    b=d.words(by),
                ),
                query,
            )
        if n == 1:
            return Draft(
                "superlative",
                d.say(
                    [
                        "What is the {c} of the {s1} with the {hl} {b}?",
                        "Which {s1} has the {hl} {b}? Give me the {c}.",
                        "Find the {c} of the {s1} with the {big} {b}.",
                        "Show the {c} of the {s1} whose {b} is the {hl}.",
                        "Return the {c} of the {s1} that has the {hl} {b}.",
                    ]
                    + (
                        ["What is the {c} of the {adj} {s1}?", "Find the {c} of the {adj} {s1}."]
                        if adjective
                        else []
                    ),
                    c=cols,
                    s1=single + said,
                    hl=hl,
                    big=big,
                    b=b,
                    adj=adjective[0] if adjective else "",
                ),
                query,
            )
        return Draft(
            "top_n",
            d.say(
                (
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
                    ]
                )
                + (["What are the {c} of the {n} {adj} {s}?"] if adjective else []),
                c=cols,
                n=n,
                s=rows + said,
                hl=hl,
                big=big,
                b=b,
                adj=adjective[0] if adjective else "",
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
    if adjective:  # "from the oldest to the youngest"
        direction.append(f"from the {adjective[0]} to the {adjective[1]}")
    if by.kind == "text":
        direction = (
            ["in reverse alphabetical order of {b}", "sorted by {b} descending"]
            if desc
            else ["in alphabetical order of {b}", "sorted by {b}", "ordered by {b}"]
        )
    then = (
        d.pick([c for c in d.sortable(table) if c is not by]) if not by_at and d.rng.random() < 0.08 else None
    )
    if then is not None:  # "sorted by age and then by name" (Spider train: 12 queries order by two columns)
        query = query.order_by(d.ordered(d.col(then, scope.alias(0)), False, then))
    phrasings = [
        f"{p} {o}{', then by {t}' if then is not None else ''}{'?' if p.startswith('What') else '.'}"
        for p in ("List the {c} of {s},", "Show the {c} of all {s}", "What are the {c} of {s}")
        for o in direction
    ]
    return Draft(
        "order",
        d.say(
            phrasings,
            kind="sorted",
            c=d.columns_words(outputs, plural=True),
            s=rows + said,
            b=b,
            t=d.words(then) if then is not None else "",
        ),
        query,
    )


SORTED_TEMPLATES = [sorted_rows]
