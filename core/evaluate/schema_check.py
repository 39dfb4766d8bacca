"""The schema check: a generated query that names a table or column the database does not have is repaired to
the nearest name the schema has, when that match is unambiguous.

    check = check_names("SELECT name FROM singers", {"singer": ["Singer_ID", "Name"]}, "sqlite")
    check.sql        # "SELECT Name FROM singer"
    check.changes    # [("singers", "singer")]   (columns that differ only in case are not changes)

Small models invent near-miss names (a plural where the table is singular, `Final_Scores` for `Final_Score`, `role`
for `role_code`).
This is a post-processing step on the model's answer, applied the same way to the base model and the adapter,
so evaluation can report accuracy both as generated and with the check. A query that parses and names only
known things is returned as it was, character for character; one that does not parse is left alone.
"""

import difflib
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from core.data import parse_one_sql
from core.db.phrasing import words_of

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
    """Repair unknown table and column names of `sql` to the schema's (`tables`: table -> its columns)."""
    try:
        tree = parse_one_sql(sql, dialect)
    except sqlglot.errors.SqlglotError:
        return SchemaCheck(sql)
    if tree is None or not tables:
        return SchemaCheck(sql)
    by_lower = {t.lower(): t for t in tables}
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    changes: list[tuple[str, str]] = []
    aliases: dict[str, str] = {}  # alias or table name (lower) -> schema table
    for table in tree.find_all(exp.Table):
        name = table.name
        if not name or name.lower() in ctes or table.args.get("db"):
            continue
        known = by_lower.get(name.lower()) or nearest(name, list(tables))
        if known is None:
            continue
        if known.lower() != name.lower():
            changes.append((name, known))
            table.set("this", exp.to_identifier(known, quoted=table.this.quoted))
        aliases[name.lower()] = aliases[known.lower()] = known
        if table.alias:
            aliases[table.alias.lower()] = known
    in_query = sorted(set(aliases.values()))
    outputs = {a.alias.lower() for a in tree.find_all(exp.Alias) if a.alias}
    for column in tree.find_all(exp.Column):
        name = column.name
        if not name or isinstance(column.this, exp.Star):
            continue
        owner = column.table.lower() if column.table else ""
        if owner and owner not in aliases:
            continue  # a subquery's alias, or a name we do not know: no guessing
        scope = [aliases[owner]] if owner else in_query
        candidates = [c for t in scope for c in tables.get(t, [])]
        if (
            not candidates
            or name.lower() in {c.lower() for c in candidates}
            or (not owner and name.lower() in outputs)
        ):
            continue
        known = nearest(name, candidates)
        owners = [t for t in scope if known in tables.get(t, [])]
        if known is not None and len(owners) == 1:  # a name two joined tables share would stay ambiguous
            changes.append((name, known))
            column.set("this", exp.to_identifier(known, quoted=column.this.quoted))
    if not changes:
        return SchemaCheck(sql)
    return SchemaCheck(tree.sql(dialect=dialect), changes)
