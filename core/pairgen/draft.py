"""What pair templates draw from: the introspected schema seen as roles (labels, categories, numbers, dates, keys),
the foreign-key graph as join paths (a Scope: one table, or tables joined along keys), the SQL pieces, and seeded
choices of wording and values.

A template (the modules of core.pairgen.templates) is a function `(Drafter) -> Draft | None`; it picks a scope,
columns and real values with the drafter's random generator, builds the SQL as a sqlglot expression (never by gluing
strings) and words the question with several phrasings at once (a Draft carries two or three, as Spider does). The
scope, condition and draft classes are in core.pairgen.scope, the literals and aggregates in core.pairgen.literals, a
condition on a real value with its words in core.pairgen.templates.filters.
"""

import random
import re
from collections import Counter
from dataclasses import dataclass, field

from sqlglot import exp

from core.db.schema_info import Column, SchemaInfo, Table
from core.db.sqlnames import column_ref, table_ref
from core.pairgen.literals import _plain_nulls, _whole
from core.pairgen.phrasing import (
    PERSON_WORDS,
    humanise,
    join_words,
    name_part,
    one_thing,
    plural_words,
    schema_nouns,
    table_column_words,
)
from core.pairgen.scope import Hop, Scope

_KEY_NAME = re.compile(r"(?i)(^id$|_id$|[a-z]Id$|ID$|_code$|_key$)")
# How Spider train's 7,000 human questions begin, per 100 ("What ..." 36.8, "Find ..." 15.6): a draft's wordings are
# ordered by these weights, so the two or three kept begin as people's questions do (bench/wording_calibration.py).
OPENINGS = {
    "what": 36.8,
    "find": 15.6,
    "show": 10.5,
    "how": 10.4,
    "list": 6.7,
    "which": 5.8,
    "return": 3.6,
    "count": 2.5,
    "give": 1.8,
    "for": 1.8,
}
OTHER_OPENING = 1.0
# Kinds whose questions begin otherwise (Spider train, per 100 of the kind): counts "How many" 61 ("Count the number"
# 19, "What" 6), lists in an order "List" 32, counts per group "How" 19 and "For each" 13.
KIND_OPENINGS = {
    "count": {"how": 61, "count": 19, "find": 10, "what": 6, "show": 2, "return": 1},
    "sorted": {"what": 36, "list": 32, "show": 11, "find": 8, "sort": 3, "return": 3, "give": 2},
    "group": {"what": 23, "show": 20, "how": 19, "for": 13, "find": 12, "list": 4},
}
BIG_TABLE = 1000  # rows: a question about such a table must filter or rank, or its answer is too long to read
MAX_ROWS = (
    1000  # a generated query answers with at most this many rows: a question a person reads the answer of
)


TINY_TABLE = 10  # rows: a table this small groups on any of its text columns (categories)


@dataclass
class Drafter:
    info: SchemaInfo
    dialect: str
    rng: random.Random
    tables: list[Table] = field(init=False)
    hops: list[Hop] = field(init=False)
    _keys: set = field(init=False)
    _path_cache: dict = field(init=False, default_factory=dict)
    _nouns: dict = field(init=False)
    _column_words: dict = field(init=False)  # id(column) -> its words in questions
    _memo: dict = field(init=False, default_factory=dict)  # roles of columns, per table

    def __post_init__(self):
        self.tables = [t for t in self.info.tables if t.rows > 0 and t.columns]
        self._nouns = schema_nouns([t.name for t in self.info.tables])
        self._column_words = {
            id(c): words
            for t in self.info.tables
            for c, words in zip(
                t.columns,
                table_column_words(
                    self._nouns[t.name], [c.name for c in t.columns], [c.kind == "text" for c in t.columns]
                ),
                strict=True,
            )
        }
        present = {t.name for t in self.tables}
        self._keys = {(k.table, c) for k in self.info.foreign_keys for c in k.columns} | {
            (k.ref_table, c) for k in self.info.foreign_keys for c in k.ref_columns
        }
        usable = [
            k
            for k in self.info.foreign_keys
            if len(k.columns) == 1
            and k.table in present
            and k.ref_table in present
            and k.table != k.ref_table
        ]
        per_pair = {}
        for k in usable:
            per_pair[(k.table, k.ref_table)] = per_pair.get((k.table, k.ref_table), 0) + 1
        self.hops = [
            Hop(
                self.info.table(k.table),
                k.columns[0],
                self.info.table(k.ref_table),
                k.ref_columns[0],
                per_pair[(k.table, k.ref_table)] > 1,
            )
            for k in usable
        ]

    # ---- roles of columns ----
    def is_key(self, table: Table, column: Column) -> bool:
        # a text column in a primary key of several (LastName, FirstName) names its rows: it is no key to show
        return (
            (column.primary_key and (len(table.primary_key) == 1 or column.kind != "text"))
            or (table.name, column.name) in self._keys
            or bool(_KEY_NAME.search(column.name))
        )

    def plain(self, table: Table, kinds: tuple[str, ...]) -> list[Column]:
        # asked thousands of times a generation, of a schema that does not change: worked out once
        key = (table.name, kinds)
        if key not in self._memo:
            self._memo[key] = [
                c for c in table.columns if c.kind in kinds and c.examples and not self.is_key(table, c)
            ]
        return self._memo[key]

    def label(self, table: Table) -> Column | None:
        """The column that names a row (name, title, ...): what "list the X" shows."""
        if ("label", table.name) not in self._memo:
            self._memo[("label", table.name)] = self._label(table)
        return self._memo[("label", table.name)]

    def _label(self, table: Table) -> Column | None:
        texts = [c for c in self.plain(table, ("text",)) if c.distinct > 1]
        named = [c for c in texts if re.search(r"(?i)name|title|label", c.name)]
        if named:
            return named[0]
        return max(texts, key=lambda c: c.distinct) if texts else None

    def key(self, table: Table) -> Column | None:
        """The column that tells rows apart (what GROUP BY uses when names can repeat): the primary key, else the
        column a foreign key points at, else the label."""
        if len(table.primary_key) == 1:
            return table.column(table.primary_key[0])
        referenced = [h.parent_col for h in self.hops if h.parent is table]
        return table.column(referenced[0]) if referenced else self.label(table)

    def categories(self, table: Table) -> list[Column]:
        """Columns whose values repeat (what GROUP BY and "for each" make sense on): few distinct values, or a
        reference to another row that many rows share (a bike id, a zip code)."""
        sampled = min(table.rows, 2000)
        # a table of a few rows: people still ask "how many entrepreneurs per investor" when each value is met once
        # or twice (Spider train's small tables: 5 investors among 6 rows)
        # (never on a column whose every value is met once: "the number of continents for each continent" is 1)
        tiny = sampled <= TINY_TABLE
        few = [
            c
            for c in self.plain(table, ("text", "bool", "number"))
            if 2 <= c.distinct <= MAX_ROWS
            and (c.distinct <= max(2, 0.7 * sampled) or (tiny and c.kind == "text" and c.distinct < sampled))
            and (c.kind != "number" or _whole(c))
        ]
        shared = [
            c
            for c in table.columns
            if self.is_key(table, c)
            and not c.primary_key
            and c.examples
            and 2 <= c.distinct <= max(2, 0.6 * sampled)
        ]
        return few + shared

    def is_person(self, table: Table) -> bool:
        """Whether the table's rows are people ("students who have a pet"): its noun, or first and last names."""
        key = ("person", table.name)
        if key not in self._memo:
            self._memo[key] = (
                self.nouns(table)[0].split()[-1] in PERSON_WORDS or self.name_pair(table) is not None
            )
        return self._memo[key]

    def name_pair(self, table: Table) -> tuple[Column, Column] | None:
        """The columns of a person's first and last name (Fname and LName), when the table has both."""
        key = ("name pair", table.name)
        if key not in self._memo:  # asked on every equality a template draws
            parts: dict = {}
            for c in self.texts(table):
                parts.setdefault(name_part(c.name), c)
            self._memo[key] = (
                (parts["first"], parts["last"]) if "first" in parts and "last" in parts else None
            )
        return self._memo[key]

    def texts(self, table: Table) -> list[Column]:
        return [c for c in self.plain(table, ("text",)) if c.distinct >= 2]

    def numbers(self, table: Table) -> list[Column]:
        return [c for c in self.plain(table, ("number",)) if c.distinct >= 2]

    def dates(self, table: Table) -> list[Column]:
        return [c for c in self.plain(table, ("date",)) if c.distinct >= 2]

    def shown(self, table: Table) -> list[Column]:
        """Columns a person asks to see: the label first, then the other plain columns; now and then the ids too
        (people ask for "the ids and names of ...")."""
        label = self.label(table)
        rest = [c for c in self.plain(table, ("text", "number", "date", "bool")) if c is not label]
        keys = (
            [c for c in table.columns if c.examples and self.is_key(table, c)]
            if self.rng.random() < 0.15
            else []
        )
        return ([label] if label else []) + rest + keys

    def sortable(self, table: Table) -> list[Column]:
        """What a list is sorted by: numbers and dates mostly, the label (alphabetical) or an id sometimes."""
        label = self.label(table)
        extra = ([label] if label else []) + [
            c for c in table.columns if c.primary_key and c.kind == "number"
        ]
        return self.numbers(table) * 3 + self.dates(table) * 3 + extra

    def big(self, table: Table) -> bool:
        return table.rows > BIG_TABLE

    # ---- random choices ----
    def pick(self, items):
        return self.rng.choice(items) if items else None

    def weighted(self, choices: dict):
        keys = list(choices)
        return self.rng.choices(keys, weights=[choices[k] for k in keys])[0]

    def say(self, phrasings: list[str], who: bool = False, kind: str = "", **slots) -> list[tuple[str, str]]:
        """Every distinct wording, in a random order weighted by how people's questions begin (OPENINGS), each as
        (phrasing id, text); the id names the wording's family (its position in the template's list), which the
        held-out split keeps on one side. The generator keeps two or three of them per SQL, as Spider does, and the
        rest as spares. `who`: the subject is people ("the students who have no pets", see is_person). `kind`: a
        kind of KIND_OPENINGS, whose questions begin otherwise."""
        texts = [one_thing(" ".join(p.format(**slots).split())) for p in phrasings]
        if who:
            texts = [re.sub(r"\bthat (have|has|do|are|is)\b", r"who \1", t) for t in texts]
        texts = [t[0].upper() + t[1:] for t in texts]
        # a random order weighted by how people's questions begin (each opening's share split among the wordings
        # that begin so): the key u ** (1 / weight), largest first, draws without replacement by weight
        firsts = [t.split()[0].lower().strip(",") for t in texts]
        same = Counter(firsts)
        openings = KIND_OPENINGS.get(kind, OPENINGS)
        keys = [self.rng.random() ** (same[f] / openings.get(f, OTHER_OPENING)) for f in firsts]
        out, seen = [], set()
        for i in sorted(range(len(texts)), key=lambda i: -keys[i]):
            if texts[i].lower() not in seen:
                seen.add(texts[i].lower())
                out.append((str(i), texts[i]))
        return out

    def tables_with(self, role) -> list[tuple[Table, list[Column]]]:
        return [(t, cols) for t in self.tables if (cols := role(t))]

    # ---- scopes: one table or a path along foreign keys ----
    def single(self, table: Table | None = None) -> Scope | None:
        table = table or self.pick(self.tables)
        return Scope([table]) if table else None

    def path(self, length: int, many_to_one: bool = False) -> Scope | None:
        """One of the foreign-key paths of `length` hops that visit no table twice, drawn evenly. `many_to_one`: only
        from a child to its parent, so each row of the first table meets one row of each joined table (sums and
        averages stay true); else in either direction."""
        paths = self._paths(length, many_to_one)
        tables, hops = self.pick(paths) or (None, None)
        return Scope(list(tables), list(hops)) if tables else None

    def _paths(self, length: int, many_to_one: bool) -> list[tuple[tuple, tuple]]:
        if (length, many_to_one) in self._path_cache:
            return self._path_cache[(length, many_to_one)]
        steps = [(h.child, h.parent, h) for h in self.hops]
        if not many_to_one:
            steps += [(h.parent, h.child, h) for h in self.hops]
        paths = [((a, b), (h,)) for a, b, h in steps]
        for _ in range(length - 1):
            paths = [
                (tables + (b,), hops + (h,))
                for tables, hops in paths
                for a, b, h in steps
                if a is tables[-1] and b not in tables
            ][:5000]
        self._path_cache[(length, many_to_one)] = paths
        return paths

    def scope(self, joins: dict[int, float], many_to_one: bool = False) -> Scope | None:
        length = self.weighted(joins)
        return self.single() if length == 0 else self.path(length, many_to_one)

    def from_(self, scope: Scope, *columns) -> exp.Select:
        """SELECT columns FROM the scope's tables, joined on their keys."""
        query = exp.select(*columns).from_(self.tab(scope.tables[0], scope.alias(0)))
        for i, hop in enumerate(scope.hops):
            left, right = scope.tables[i], scope.tables[i + 1]
            a, b = scope.alias(i), scope.alias(i + 1)
            on_left = hop.child_col if left is hop.child else hop.parent_col
            on_right = hop.parent_col if left is hop.child else hop.child_col
            query = query.join(
                self.tab(right, b), on=exp.EQ(this=self.col(on_left, a), expression=self.col(on_right, b))
            )
        return query

    # ---- SQL pieces ----
    def col(self, column: Column | str, alias: str | None = None) -> exp.Column:
        return column_ref(column if isinstance(column, str) else column.name, self.dialect, alias)

    def tab(self, table: Table, alias: str | None = None) -> exp.Expression:
        return table_ref(table.name, self.dialect, alias)

    def ordered(self, expression: exp.Expression, desc: bool, column: Column | None = None) -> exp.Ordered:
        """ORDER BY as a person writes it in this dialect: no NULLS FIRST/LAST unless the column has NULLs (then
        the NULLs go last, so "the highest" and "the lowest" are real values); ASC written out half of the time."""
        if column is not None and column.nulls:
            return exp.Ordered(this=expression, desc=desc, nulls_first=False)
        plain = _plain_nulls(self.dialect, desc)
        return exp.Ordered(
            this=expression, desc=desc or (False if self.rng.random() < 0.5 else None), nulls_first=plain
        )

    # ---- words ----
    def nouns(self, table: Table) -> tuple[str, str]:
        return self._nouns[table.name]

    def words(self, column: Column | str) -> str:
        if isinstance(column, str):
            return humanise(column)
        return self._column_words.get(id(column)) or humanise(column.name)

    def words_plural(self, column: Column) -> str:
        return plural_words(self.words(column))

    def columns_words(self, columns: list[Column], plural: bool = False, each: bool = False) -> str:
        """ "name and age" ("names" alone with `plural`); "names and ages" with `each` too."""
        return join_words(
            [
                self.words_plural(c) if plural and (each or len(columns) == 1) else self.words(c)
                for c in columns
            ]
        )
