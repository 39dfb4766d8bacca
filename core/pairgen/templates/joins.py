"""What the templates along one foreign key (child_counts.py, without.py, join_values.py) share: picking a foreign
key whose parent has a label, grouping by the parent's key (never by a name two rows can share, with the shown
columns where the dialect wants them), the parent <- link -> other scope of a link table, the parent's columns to show,
the child rows in words (a child that refers to one parent twice, follower/followed, names the column it goes
through) and a table's key columns (a condition on one would ask about the join itself).
"""

from sqlglot import exp

from core.pairgen.draft import MAX_ROWS, Drafter
from core.pairgen.scope import Hop, Scope


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


def _keys(d: Drafter, table) -> tuple:
    """The table's key columns (its own and its foreign keys): a condition on one asks about the join itself."""
    return tuple(c for c in table.columns if d.is_key(table, c))
