"""Pair templates along foreign-key paths: joins of one and two hops with filters and aggregates on the joined
table, counts per parent row, HAVING on joined rows, and nested subqueries (NOT IN / NOT EXISTS, IN)."""

from sqlglot import exp

from core.db.draft import AGGREGATES, Draft, Drafter, Join, literal

T1, T2, T3 = "T1", "T2", "T3"


def _hop_with(d: Drafter, need) -> Join | None:
    return d.pick([j for j in d.joins if need(j)])


def join_filter(d: Drafter) -> Draft | None:
    """Rows of one side, filtered on a value of the other side."""
    hop = _hop_with(d, lambda j: (d.label(j.child) and d.texts(j.parent)) or (d.label(j.parent) and d.texts(j.child)))
    if hop is None:
        return None
    sides = [("child", "parent")] if d.label(hop.child) and d.texts(hop.parent) else []
    sides += [("parent", "child")] if d.label(hop.parent) and d.texts(hop.child) else []
    shown, other = d.pick(sides)
    shown_t, other_t = getattr(hop, shown), getattr(hop, other)
    a_shown, a_other = (T1, T2) if shown == "child" else (T2, T1)
    label, column = d.label(shown_t), d.pick(d.texts(other_t))
    value = d.pick(column.examples)
    sql = d.select(d.col(label, a_shown), table=hop.child, alias=T1)
    sql = d.join(sql, hop, T1, T2, "parent").where(exp.EQ(this=d.col(column, a_other), expression=literal(value)))
    if shown == "parent":
        sql = sql.distinct()
    q = d.say(["List the {l} of {t} whose {o} has {c} {v}.", "What are the {l} of the {t} linked to {oa} with {c} {v}?",
               "Show the {l} of all {t} for the {o} whose {c} is {v}.", "Which {t} belong to {oa} with {c} {v}? Give their {l}."],
              l=d.words_plural(label), t=d.nouns(shown_t)[1], o=d.nouns(other_t)[0], oa="a " + d.nouns(other_t)[0],
              c=d.words(column), v=d.spoken(value))
    return Draft("join_filter", q, sql)


def join_count(d: Drafter) -> Draft | None:
    """Each parent row with the number of its child rows."""
    hop = _hop_with(d, lambda j: d.label(j.parent))
    if hop is None:
        return None
    label = d.label(hop.parent)
    sql = d.select(d.col(label, T2), exp.Count(this=exp.Star()), table=hop.child, alias=T1)
    sql = d.join(sql, hop, T1, T2, "parent").group_by(d.col(label, T2))
    q = d.say(["Show each {p}'s {l} and the number of {c} it has.", "How many {c} does each {p} have? Show the {p} {l}.",
               "List the {l} of every {p} and how many {c} there are for it.", "For each {p}, give its {l} and the count of {c}."],
              p=d.nouns(hop.parent)[0], l=d.words(label), c=d.nouns(hop.child)[1])
    return Draft("join_count", q, sql)


def join_aggregate(d: Drafter) -> Draft | None:
    """An aggregate of a child number, for the child rows of parents with a given value (or per parent)."""
    hop = _hop_with(d, lambda j: d.numbers(j.child) and (d.texts(j.parent) or d.label(j.parent)))
    if hop is None:
        return None
    number, name = d.pick(d.numbers(hop.child)), d.rng.choice(list(AGGREGATES))
    func, words = AGGREGATES[name]
    parent_col = d.pick(d.texts(hop.parent))
    if parent_col is not None and d.rng.random() < 0.6:
        value = d.pick(parent_col.examples)
        sql = d.select(func(this=d.col(number, T1)), table=hop.child, alias=T1)
        sql = d.join(sql, hop, T1, T2, "parent").where(exp.EQ(this=d.col(parent_col, T2), expression=literal(value)))
        q = d.say(["What is the {f} {n} of {c} whose {p} has {pc} {v}?", "Give the {f} {n} of the {c} of {p}s with {pc} {v}.",
                   "For {c} of a {p} with {pc} {v}, what is the {f} {n}?"],
                  f=d.rng.choice(words), n=d.words(number), c=d.nouns(hop.child)[1], p=d.nouns(hop.parent)[0],
                  pc=d.words(parent_col), v=d.spoken(value))
        return Draft("join_aggregate", q, sql)
    label = d.label(hop.parent)
    if label is None:
        return None
    sql = d.select(d.col(label, T2), func(this=d.col(number, T1)), table=hop.child, alias=T1)
    sql = d.join(sql, hop, T1, T2, "parent").group_by(d.col(label, T2))
    q = d.say(["What is the {f} {n} of {c} for each {p}? Show the {p} {l}.", "For every {p}, show its {l} and the {f} {n} of its {c}.",
               "List each {p} {l} with the {f} {n} of their {c}."],
              f=d.rng.choice(words), n=d.words(number), c=d.nouns(hop.child)[1], p=d.nouns(hop.parent)[0], l=d.words(label))
    return Draft("join_aggregate", q, sql)


def join_top(d: Drafter) -> Draft | None:
    """The parent with the most child rows."""
    hop = _hop_with(d, lambda j: d.label(j.parent))
    if hop is None:
        return None
    label, most = d.label(hop.parent), d.rng.random() < 0.75
    count = exp.Count(this=exp.Star())
    sql = d.select(d.col(label, T2), table=hop.child, alias=T1)
    sql = d.join(sql, hop, T1, T2, "parent").group_by(d.col(label, T2)).order_by(exp.Ordered(this=count, desc=most)).limit(1)
    q = d.say(["Which {p} has the {m} {c}? Give its {l}.", "What is the {l} of the {p} with the {m} {c}?",
               "Find the {p} that has the {m} {c}; show the {l}."],
              p=d.nouns(hop.parent)[0], m="most" if most else "fewest", c=d.nouns(hop.child)[1], l=d.words(label))
    return Draft("join_top", q, sql)


def join_having(d: Drafter) -> Draft | None:
    hop = _hop_with(d, lambda j: d.label(j.parent) and j.child.rows >= 4)
    if hop is None:
        return None
    label, least = d.label(hop.parent), d.rng.choice([2, 2, 3])
    count = exp.Count(this=exp.Star())
    sql = d.select(d.col(label, T2), table=hop.child, alias=T1)
    sql = d.join(sql, hop, T1, T2, "parent").group_by(d.col(label, T2)).having(exp.GTE(this=count, expression=literal(least)))
    q = d.say(["Which {p} have at least {n} {c}? Show their {l}.", "List the {l} of {p} with {n} or more {c}.",
               "Show the {l} of every {p} that has at least {n} {c}."],
              p=d.nouns(hop.parent)[1], n=least, c=d.nouns(hop.child)[1], l=d.words_plural(label))
    return Draft("join_having", q, sql)


def _two_hops(d: Drafter) -> list[tuple[Join, Join]]:
    """Paths A <- B -> C through a table B that refers to two others (a link table such as singer_in_concert), and
    chains A -> B -> C (sales -> customers -> regions)."""
    paths = []
    for first in d.joins:
        for second in d.joins:
            if first is second:
                continue
            if first.child is second.child and first.parent is not second.parent:
                paths.append((first, second))  # A=first.parent, B=link, C=second.parent
    return paths


def two_hop(d: Drafter) -> Draft | None:
    """Rows of one table, filtered (or counted) on a value of a table two foreign-key hops away."""
    paths = [(a, b) for a, b in _two_hops(d) if d.label(a.parent) and d.texts(b.parent)]
    if not paths:
        return None
    first, second = d.pick(paths)
    shown, far = first.parent, second.parent
    label, column = d.label(shown), d.pick(d.texts(far))
    value = d.pick(column.examples)
    sql = exp.select(d.col(label, T1)).from_(d.tab(shown, T1))
    sql = sql.join(d.tab(first.child, T2), on=exp.EQ(this=d.col(first.parent_col, T1), expression=d.col(first.child_col, T2)))
    sql = sql.join(d.tab(far, T3), on=exp.EQ(this=d.col(second.child_col, T2), expression=d.col(second.parent_col, T3)))
    sql = sql.where(exp.EQ(this=d.col(column, T3), expression=literal(value))).distinct()
    q = d.say(["List the {l} of {s} in {f} with {c} {v}.", "What are the {l} of the {s} linked to a {f1} whose {c} is {v}?",
               "Show the {l} of all {s} connected to {f} with {c} {v}.", "Which {s} are related to the {f1} with {c} {v}? Give their {l}."],
              l=d.words_plural(label), s=d.nouns(shown)[1], f=d.nouns(far)[1], f1=d.nouns(far)[0], c=d.words(column),
              v=d.spoken(value))
    return Draft("two_hop", q, sql)


def two_hop_count(d: Drafter) -> Draft | None:
    """Each row of one table with the number of rows of another, counted through a link table."""
    paths = [(a, b) for a, b in _two_hops(d) if d.label(a.parent)]
    if not paths:
        return None
    first, second = d.pick(paths)
    shown, far, label = first.parent, second.parent, d.label(first.parent)
    sql = exp.select(d.col(label, T1), exp.Count(this=exp.Distinct(expressions=[d.col(second.child_col, T2)])))
    sql = sql.from_(d.tab(shown, T1)).join(
        d.tab(first.child, T2), on=exp.EQ(this=d.col(first.parent_col, T1), expression=d.col(first.child_col, T2)))
    sql = sql.group_by(d.col(label, T1))
    q = d.say(["List each {s}'s {l} and the number of {f} it is in.", "For every {s}, show the {l} and how many {f} it has.",
               "Show the {l} of each {s} with its number of {f}."],
              s=d.nouns(shown)[0], l=d.words(label), f=d.nouns(far)[1])
    return Draft("two_hop_count", q, sql)


def without(d: Drafter) -> Draft | None:
    """Parent rows that no child row refers to: NOT IN or NOT EXISTS."""
    hop = _hop_with(d, lambda j: d.label(j.parent))
    if hop is None:
        return None
    label = d.label(hop.parent)
    if d.rng.random() < 0.5:
        inner = d.select(d.col(hop.child_col), table=hop.child).where(exp.Not(this=exp.Is(this=d.col(hop.child_col), expression=exp.Null())))
        cond = exp.Not(this=exp.In(this=d.col(hop.parent_col), query=exp.Subquery(this=inner)))
        sql = d.select(d.col(label), table=hop.parent).where(cond)
    else:
        inner = d.select(exp.Literal.number(1), table=hop.child, alias=T2).where(
            exp.EQ(this=d.col(hop.child_col, T2), expression=d.col(hop.parent_col, T1)))
        sql = d.select(d.col(label, T1), table=hop.parent, alias=T1).where(exp.Not(this=exp.Exists(this=inner)))
    q = d.say(["Which {p} have no {c}? Show their {l}.", "List the {l} of {p} without any {c}.",
               "Show the {l} of every {p} that has no {c}.", "What are the {l} of the {p} with no {c} at all?"],
              p=d.nouns(hop.parent)[1], c=d.nouns(hop.child)[1], l=d.words_plural(label))
    return Draft("without", q, sql)


def in_subquery(d: Drafter) -> Draft | None:
    """Parent rows that have a child row with some value: IN (subquery)."""
    hop = _hop_with(d, lambda j: d.label(j.parent) and (d.categories(j.child) or d.numbers(j.child)))
    if hop is None:
        return None
    label = d.label(hop.parent)
    column = d.pick(d.categories(hop.child) or d.numbers(hop.child))
    value = d.pick(column.examples)
    inner = d.select(d.col(hop.child_col), table=hop.child).where(exp.EQ(this=d.col(column), expression=literal(value)))
    sql = d.select(d.col(label), table=hop.parent).where(exp.In(this=d.col(hop.parent_col), query=exp.Subquery(this=inner)))
    q = d.say(["Which {p} have a {c} with {cc} {v}? Show their {l}.", "List the {l} of {p} that have some {c} whose {cc} is {v}.",
               "Show the {l} of {p} with at least one {c} of {cc} {v}."],
              p=d.nouns(hop.parent)[1], c=d.nouns(hop.child)[0], cc=d.words(column), v=d.spoken(value),
              l=d.words_plural(label))
    return Draft("in_subquery", q, sql)


JOIN_TEMPLATES = [join_filter, join_count, join_aggregate, join_top, join_having, two_hop, two_hop_count, without,
                  in_subquery]
