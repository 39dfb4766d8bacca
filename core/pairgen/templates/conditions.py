"""The conditions of pair templates and their words: how the subject's rows relate to the other tables of a joined
scope ("of a maker", "that have a car"), up to two conditions on real values ("whose country is France or Japan"),
whether a join fans out (a parent met once per child), the WHERE clause, and HAVING on a count.

Used by the templates of rows.py and groups.py (child_counts.py uses count_condition).
"""

from sqlglot import exp

from core.data.english import words_of
from core.pairgen.draft import Drafter
from core.pairgen.literals import literal, numeric, round_2
from core.pairgen.phrasing import (
    article,
    count_words,
    is_or_are,
    plural_verb,
    plural_word,
    singular_word,
    spoken_value,
)
from core.pairgen.scope import Condition, Scope
from core.pairgen.templates.filters import condition


def relation(d: Drafter, scope: Scope, subject: int, other: int, attribute: bool = False) -> str:
    """How the subject's rows relate to another table of the scope, in words: 'of a maker', 'that have a car',
    'who live in a dorm' (through the link table Lives_in), else 'linked to a concert'. `attribute`: a condition on
    the other table's column follows; a link table's columns then read as the subject's own (nothing is said)."""
    single = d.nouns(scope.tables[other])[0]
    if abs(subject - other) == 1:
        hop = scope.hops[min(subject, other)]
        if hop.child is scope.tables[subject]:
            return f"of {article(single)}{hop.via()}"
        end = link_end(d, hop.child, hop.parent) if not hop.shared else None
        if end is not None:
            # a link table's own columns are the subject's ("students whose room number is 330"); said alone, the
            # relation takes the link's words ("students who live in a dorm")
            phrase = "" if attribute else through(d, hop.child, hop.parent, end)
            if phrase is not None:
                return phrase
        return f"{_who(d, scope.tables[subject])} have {article(single)}{hop.via()}"
    return (
        link_relation(d, scope, subject, other)
        or _two_hops(d, scope, subject, other)
        or f"linked to {article(single)}"
    )


def _two_hops(d: Drafter, scope: Scope, subject: int, other: int) -> str | None:
    """Both steps of a path through a middle table, said: "stadiums that have a game with an injury accident",
    "rounds of a member of a college" (the join the SQL makes, where "linked to" named only its end)."""
    if (subject, other) != (0, 2) or len(scope.tables) != 3:
        return None
    middle, end = scope.tables[1], scope.tables[2]
    second = scope.hops[1]
    step = "of" if second.child is middle else "with"
    return f"{relation(d, scope, 0, 1)} {step} {article(d.nouns(end)[0])}{second.via()}"


PREPOSITIONS = ("in", "of", "at", "on", "for", "with", "to", "from", "by")


def _who(d: Drafter, table) -> str:
    """ "students who have a pet", "dorms that have a student"."""
    return "who" if d.is_person(table) else "that"


def link_relation(d: Drafter, scope: Scope, subject: int, other: int) -> str | None:
    """The relation through a link table, in the words of its name, as people ask (Spider train: "students living in
    Smith Hall", "faculty who participate in an activity", "students who play video games", "members of the club"):
    Lives_in -> 'who live in a dorm', Plays_Games -> 'who play a video game', Member_of_club -> 'who are members of
    a club' (the other way: 'that have a member'), singer_in_concert -> 'in a concert' ('that have a singer'),
    Has_Allergy -> 'who have an allergy type' ('of a student'). None when the name says no relation (Treatments)."""
    if len(scope.tables) != 3 or {subject, other} != {0, 2}:
        return None
    link = scope.tables[1]
    if not all(hop.child is link and hop.parent is not link for hop in scope.hops) or not is_link(d, link):
        return None
    return through(d, link, scope.tables[subject], scope.tables[other])


def is_link(d: Drafter, table) -> bool:
    """A table that relates rows of two others and is no thing of its own: two or more foreign keys and no key
    column of its own (Lives_in, Member_of_club). Dogs (dog_id, owner_id, size_code) is a thing: "owners who have
    a dog of a size", never a relation named "dogs"."""
    keys = {h.child_col for h in d.hops if h.child is table}
    return len(keys) >= 2 and not [c for c in table.primary_key if c not in keys]


def link_end(d: Drafter, link, subject) -> object | None:
    """The table a link table joins the subject to (Lives_in: a student's dorm), when the link refers to the subject
    and to another table."""
    others = [
        h.parent for h in d.hops if h.child is link and h.parent is not subject and h.parent is not link
    ]
    mine = any(h.child is link and h.parent is subject for h in d.hops)
    return others[0] if mine and others and is_link(d, link) else None


def through(d: Drafter, link, subject, other) -> str | None:
    """The subject's relation to `other` through `link`, in the words of the link's name (see link_relation)."""
    ends = {0: subject, 2: other}
    names = {i: {singular_word(w) for noun in d.nouns(t) for w in noun.split()} for i, t in ends.items()}
    words = [w.lower() for w in words_of(link.name)]
    agent = None
    for i in (0, 2):
        if singular_word(words[0]) in names[i] and singular_word(words[0]) not in names[2 - i]:
            agent, words = i, words[1:]  # singer_in_concert: the singer is in the concert
            break
    if agent is None and singular_word(words[-1]) in names[0] ^ names[2]:
        agent = 2 if singular_word(words[-1]) in names[0] else 0  # Member_of_club, Plays_Games: not the club
    while words and agent is not None and singular_word(words[-1]) in names[2 - agent]:
        words = words[:-1]
    if agent is None:  # Lives_in: the table the link's first key column refers to lives in the other
        hops = [h for h in d.hops if h.child is link and h.parent in (subject, other)]
        order = [c.name for c in link.columns]
        first = min(hops, key=lambda h: order.index(h.child_col) if h.child_col in order else len(order))
        agent = 0 if first.parent is subject else 2
    if not words:
        return None
    far = d.nouns(ends[2 - agent])[0] if agent == 0 else d.nouns(ends[agent])[0]
    that = _who(d, subject)
    head, rest = words[0], " ".join(words[1:])
    noun_role = bool(rest) and rest.split()[0] in PREPOSITIONS and not head.endswith(("s", "ed"))
    if agent != 0:  # the other way round: 'of a student', 'that have a member', 'that have a student'
        if head in ("has", "have"):
            return f"of {article(far)}"
        return f"{that} have {article(head if noun_role else far)}"
    if head in ("has", "have"):
        return f"{that} have {article(far)}"
    if head in PREPOSITIONS:
        return f"{' '.join(words)} {article(far)}"
    if head.endswith("ed"):
        return f"{that} are {' '.join(words)} {article(far)}"
    if noun_role:
        return f"{that} are {plural_word(head)} {rest} {article(far)}"  # a member of -> members of
    if head.endswith("s") and not head.endswith("ss"):
        return f"{that} {' '.join([plural_verb(head), *words[1:]])} {article(far)}"
    return None


def conditions(d: Drafter, scope: Scope, count: int, avoid=(), person: bool = True) -> tuple[list, str, str]:
    """(conditions, their words relative to the subject (table 0), "and" or "or"). In a joined scope the first
    condition is on the farthest table: the join is there for it, and the question says so. `person=False` where a
    full name would pick out the one row that is grouped or averaged (the name of a joined table stays allowed)."""
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
    # the columns a join uses: "dorms that have an amenity record with dorm id 109" only says "dorm 109" twice
    joins = tuple(
        c
        for hop in scope.hops
        for c in (hop.child.column(hop.child_col), hop.parent.column(hop.parent_col))
        if c is not None
    )
    for k, i in enumerate(tables):
        cond = condition(
            d,
            scope.tables[i],
            scope.alias(i),
            kinds=("eq",) if row else ("eq", "cmp", "like") + (("person",) if person or i else ()),
            avoid=tuple(avoid) + joins + tuple(column for c in found for column in _columns(c)),
            row=row,
        )
        if cond is None or any(cond.column is c.column for c in found):
            continue  # a LIKE may take a column shown, never one already asked about ("name contains X and Y")
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
        if k == 0 and count == 2 and not row and _compares(cond) and d.rng.random() < 0.3:
            span = _range(d, cond)
            if span is not None:  # "whose height is above 200 or below 190", "from 1935 to 1939"
                return [span], " " + _related(d, scope, i, span.words), "and"
        # a second condition on the same joined table: "of a student whose first name is Tracy and last name is
        # Jones", not "... and of a student whose last name is Jones" (which reads as another student)
        same = bool(found) and i != 0 and found[-1].table is scope.tables[i]
        found.append(cond)
        words.append(cond.words if same else _related(d, scope, i, cond.words))
    if scope.joined and (not found or found[0].table is not scope.tables[last]):
        return [], "", "and"  # no condition where the join needs one: the caller draws again
    if not found:
        return [], "", "and"
    joiner = "and" if row or d.rng.random() < 0.75 else "or"
    return found, " " + f" {joiner} ".join(words), joiner


def _compares(cond: Condition) -> bool:
    return cond.column.kind == "number" and isinstance(cond.expr, (exp.GT, exp.GTE, exp.LT, exp.LTE))


def _range(d: Drafter, cond: Condition) -> Condition | None:
    """Two bounds on one number (Spider train: 22 queries such as "height above 200 or below 190", "year >= 1935
    AND year <= 1939", beside 66 BETWEENs): inside the range (>= AND <=) or outside it (> OR <)."""
    values = sorted({round_2(v) for v in numeric(cond.column.examples)})
    if len(values) < 2:
        return None
    low, high = sorted(d.rng.sample(values, 2))
    column, n = cond.expr.this, d.words(cond.column)
    if d.rng.random() < 0.5:
        expr = exp.and_(
            exp.GTE(this=column.copy(), expression=literal(low)),
            exp.LTE(this=column.copy(), expression=literal(high)),
        )
        words = f"whose {n} {is_or_are(n)} from {spoken_value(low)} to {spoken_value(high)}"
    else:
        expr = exp.or_(
            exp.GT(this=column.copy(), expression=literal(high)),
            exp.LT(this=column.copy(), expression=literal(low)),
        )
        words = f"whose {n} {is_or_are(n)} above {spoken_value(high)} or below {spoken_value(low)}"
    return Condition(expr, cond.table, cond.column, words)


def _columns(cond: Condition) -> list:
    """The columns a condition tests (a full name tests two)."""
    names = {c.name for c in cond.expr.find_all(exp.Column)}
    return [c for c in cond.table.columns if c.name in names]


def _related(d: Drafter, scope: Scope, i: int, words: str) -> str:
    return words if i == 0 else " ".join(w for w in (relation(d, scope, 0, i, attribute=True), words) if w)


def fans_out(scope: Scope) -> bool:
    """Whether a row of the subject (table 0) can meet several rows of the joined tables (a parent with its
    children): then counts take DISTINCT keys, lists DISTINCT rows, and aggregates are not drawn over it."""
    return any(hop.parent is scope.tables[i] for i, hop in enumerate(scope.hops))


def pinned(scope: Scope, conds: list, joiner: str) -> bool:
    """A path through a link table to one row of the far table (an equality on a column no two of its rows share):
    the subject's rows are met once each, so COUNT(*) and AVG need no DISTINCT ("the average age of the members of
    the club Bootup Baltimore", as Spider train asks 20 times)."""
    if len(scope.tables) != 3 or joiner != "and" or not all(h.child is scope.tables[1] for h in scope.hops):
        return False
    far = scope.tables[2]
    return any(
        c.table is far and isinstance(c.expr, exp.EQ) and far.rows <= 2000 and c.column.distinct == far.rows
        for c in conds
    )


def where(query: exp.Select, conds: list, joiner: str) -> exp.Select:
    if not conds:
        return query
    if joiner == "or":
        return query.where(exp.or_(*[c.expr for c in conds]))
    # a full name is two equalities of its own: "a = 'x' AND b = 'y' AND c > 3", without brackets, as people write it
    return query.where(
        exp.and_(
            *[part for c in conds for part in (c.expr.flatten() if isinstance(c.expr, exp.And) else [c.expr])]
        )
    )


def count_condition(d: Drafter, key: exp.Column | None = None) -> tuple[exp.Expression, str]:
    """HAVING on the number of rows, as people ask it: at least / more than / exactly / fewer than N. Now and then
    the count is of `key`, a column no counted row leaves empty (Spider train: 16 of 371 write COUNT(address_id))."""
    count = exp.Count(this=key if key is not None and d.rng.random() < 0.05 else exp.Star())
    n, how = d.rng.choice([2, 2, 3]), d.weighted({"gte": 44, "gt": 58, "eq": 9, "lt": 5, "lte": 4})
    said = count_words if d.rng.random() < 0.78 else str  # "more than one"
    cls, words = {
        "gte": (exp.GTE, f"at least {said(n)}"),
        "gt": (exp.GT, f"more than {said(n - 1)}"),
        "eq": (exp.EQ, f"exactly {said(n)}"),
        "lt": (exp.LT, f"fewer than {said(n)}"),
        "lte": (exp.LTE, f"at most {said(n)}"),
    }[how]
    return cls(this=count, expression=literal(n - 1 if how == "gt" else n)), words
