"""The schema check: a generated query that names a table or column the database does not have is repaired to
the nearest name the schema has, when that match is unambiguous.

    check = check_names("SELECT name FROM singers", {"singer": ["Singer_ID", "Name"]}, "sqlite")
    check.sql        # "SELECT Name FROM singer"
    check.changes    # [("singers", "singer")]   (columns that differ only in case are not changes)

Small models invent near-miss names (a plural where the table is singular, `Final_Scores` for `Final_Score`, `role`
for `role_code`). Each column is resolved in its scope, as the database resolves it (core.data.sqlcheck's scope
helpers): a subquery's alias is no schema table, and a correlated subquery's column is its enclosing query's.
This is a post-processing step on the model's answer, applied the same way to the base model and the adapter,
so evaluation can report accuracy both as generated and with the check. A query that parses and names only
known things is returned as it was, character for character; one that does not parse is left alone.
"""

import difflib
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from core.data import parse_one_sql
from core.data.english import words_of
from core.data.sqlcheck import query_scopes, scope_columns, source_columns, visible_scopes

MIN_SIMILARITY = 0.75  # below this a name is too far from every schema name to be a near miss
MIN_MARGIN = 0.08  # the best match must beat the second best by this much, or the repair is ambiguous


@dataclass
class SchemaCheck:
    sql: str
    changes: list[tuple[str, str]] = field(default_factory=list)  # (as written, as repaired)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def describe(self) -> str:
        # a name repaired in two places ("ORDER BY T2.last" beside "SELECT T2.last") is said once
        return ", ".join(dict.fromkeys(f"{was} -> {now}" for was, now in self.changes))


def _similarity(a: str, b: str) -> float:
    low_a, low_b = a.lower(), b.lower()
    if low_a.rstrip("s") == low_b.rstrip("s") or low_a.replace("_", "") == low_b.replace("_", ""):
        return 0.99  # singers/singer, FinalScore/Final_Score: the same word
    short, long = sorted((words_of(a), words_of(b)), key=len)
    if short and len(short) < len(long) and short in (long[: len(short)], long[-len(short) :]):
        return (
            0.9  # role/role_code, Name/concert_Name: the words a question says, without the rest of the name
        )
    return difflib.SequenceMatcher(None, low_a, low_b).ratio()


def nearest(name: str, candidates: list[str]) -> str | None:
    """The one candidate `name` is a near miss of, or None (too far, or two candidates about as near)."""
    scored = sorted(((_similarity(name, c), c) for c in set(candidates)), reverse=True)
    if not scored or scored[0][0] < MIN_SIMILARITY:
        return None
    if len(scored) > 1 and scored[0][0] - scored[1][0] < MIN_MARGIN:
        return None
    return scored[0][1]


def check_names(sql: str, tables: dict[str, list[str]], dialect: str) -> SchemaCheck:
    """Repair unknown table and column names of `sql` to the schema's (`tables`: table -> its columns). Each column
    is resolved in its own scope, as the database resolves it (core.data.sqlcheck's scope helpers): a qualifier
    names the source of the nearest scope that has it (a subquery's alias is no table of the schema), and an
    unqualified name belongs to its own FROM, or to an enclosing one in a correlated subquery."""
    try:
        tree = parse_one_sql(sql, dialect)
    except sqlglot.errors.SqlglotError:
        return SchemaCheck(sql)
    if tree is None or not tables:
        return SchemaCheck(sql)
    by_lower = {t.lower(): t for t in tables}
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    changes: list[tuple[str, str]] = []
    for table in tree.find_all(exp.Table):
        name = table.name
        if not name or name.lower() in ctes or table.args.get("db"):
            continue
        known = by_lower.get(name.lower()) or nearest(name, list(tables))
        if known is not None and known.lower() != name.lower():
            changes.append((name, known))
            table.set("this", exp.to_identifier(known, quoted=table.this.quoted))
    known_columns = {t.lower(): {c.lower() for c in columns} for t, columns in tables.items()}
    outputs: dict[int, dict[str, str]] = {}  # a query's output names this check renamed: old (lower) -> new
    for scope in (
        query_scopes(tree) or []
    ):  # innermost first; None: sqlglot cannot follow them, nothing is guessed
        levels = [_sources(outer, by_lower, known_columns) for outer in visible_scopes(scope)]
        for column, known in _scope_repairs(scope, levels, tables, outputs):
            changes.append((column.name, known))
            column.set("this", exp.to_identifier(known, quoted=column.this.quoted))
    if not changes:
        return SchemaCheck(sql)
    return SchemaCheck(tree.sql(dialect=dialect), changes)


# One FROM/JOIN source of a scope: its name there (lower-cased), the schema table it is (None: a subquery, a CTE or
# a table the schema lacks), the columns it offers, lower-cased (None: they cannot be known), and for a subquery or
# a CTE, its query's key in `outputs`.
_Source = tuple[str, str | None, set[str] | None, int | None]


def _sources(scope: Scope, by_lower: dict[str, str], known: dict[str, set[str]]) -> list[_Source]:
    out = []
    for name, _ in scope.references:
        source = scope.sources.get(name)
        is_table = isinstance(source, exp.Table) and bool(source.name) and not source.args.get("db")
        table = by_lower.get(source.name.lower()) if is_table else None
        key = id(source.expression) if isinstance(source, Scope) else None
        out.append((name.lower(), table, source_columns(source, known), key))
    return out


def _scope_repairs(scope: Scope, levels: list[list[_Source]], tables: dict, outputs: dict):
    """(column, its schema name) for the columns of one scope written as near misses. A renamed column that is
    one of the query's outputs renames the output too: its ORDER BY, a UNION's ORDER BY and the queries that
    select from it as a subquery or a CTE follow."""
    query = scope.expression
    if isinstance(query, exp.SetOperation):  # a UNION's output names are its first branch's
        first = query
        while isinstance(first, (exp.SetOperation, exp.Subquery)):
            first = first.this
        outputs[id(query)] = dict(outputs.get(id(first), {}))
    renamed = outputs.setdefault(id(query), {})
    order = query.args.get("order")
    in_order = {id(c) for c in order.find_all(exp.Column)} if order else set()
    checked = scope_columns(scope)
    ids = {id(c) for c in checked}
    # sqlglot leaves out of a scope's columns an ORDER BY name that its SELECT gives: it follows that output
    named = [c for c in query.find_all(exp.Column) if id(c) in in_order and id(c) not in ids]
    for column in sorted(checked + named, key=lambda c: id(c) in in_order):  # ORDER BY last
        if id(column) in in_order and not column.table and column.name.lower() in renamed:
            known = renamed[column.name.lower()]
        else:
            known = _followed(column, levels, outputs) or _repair(column, scope, levels, tables)
        if known is not None:
            if column.parent is query and column.arg_key == "expressions":  # an output without an alias
                renamed[column.name.lower()] = known
            yield column, known


def _followed(column: exp.Column, levels: list[list[_Source]], outputs: dict) -> str | None:
    """The new name of a column that names an output of a subquery or a CTE that this check renamed."""
    name, qualifier = column.name.lower(), column.table.lower()
    for sources in levels:
        for alias, _, _, key in sources:
            if (not qualifier or alias == qualifier) and name in outputs.get(key, {}):
                return outputs[key][name]
    return None


def _repair(column: exp.Column, scope: Scope, levels: list[list[_Source]], tables: dict) -> str | None:
    """The schema's name for a column written as a near miss, or None (known, someone else's, or no sure guess)."""
    name, qualifier = column.name, column.table.lower()
    if not name or isinstance(column.this, exp.Star):
        return None
    if qualifier:
        for sources in levels:  # the nearest scope that has this qualifier wins, as in SQL
            for alias, table, offered, _ in sources:
                if alias == qualifier:
                    if table is None or name.lower() in (offered or ()):
                        return None  # a subquery's (or CTE's) alias: its columns are its own, no guessing
                    return nearest(name, tables[table])
        return None  # a name we do not know: no guessing
    selects = scope.expression.selects if isinstance(scope.expression, exp.Select) else []
    if any(isinstance(e, exp.Alias) and e.alias.lower() == name.lower() for e in selects):
        return None  # an output alias of this SELECT (ORDER BY n, HAVING total > 1)
    if any(offered is None or name.lower() in offered for sources in levels for _, _, offered, _ in sources):
        return (
            None  # a column of a visible source (an enclosing one's, in a correlated subquery), or one whose
        )
        # columns cannot be known: no guessing
    for sources in levels:  # its own FROM first, then the enclosing ones
        scope_tables = [table for _, table, _, _ in sources if table is not None]
        known = nearest(name, [c for t in scope_tables for c in tables[t]])
        if known is not None:  # a name two joined tables share would stay ambiguous
            return known if sum(known in tables[t] for t in scope_tables) == 1 else None
    return None
