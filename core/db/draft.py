"""What pair templates draw from: the introspected schema seen as roles (labels, categories, numbers, dates, joins),
SQL pieces as sqlglot expressions, and seeded choices of wording and values.

A template (core.db.templates, core.db.join_templates) is a function `(Drafter) -> Draft | None`; it picks tables,
columns and real values with the drafter's random generator, builds the SQL as a sqlglot expression (never by
gluing strings) and words the question with one of at least three phrasings.
"""

import datetime
import decimal
import random
import re
from dataclasses import dataclass, field

from sqlglot import exp

from core.db.introspect import LOW_CARDINALITY, Column, SchemaInfo, Table
from core.db.phrasing import column_plural, humanise, spoken_value, table_nouns
from core.db.sqlnames import column_ref, table_ref

_KEY_NAME = re.compile(r"(?i)(^id$|_id$|[a-z]Id$|ID$|_code$|_key$)")


@dataclass
class Draft:
    template: str
    question: str
    sql: exp.Expression


@dataclass
class Join:
    """One foreign-key hop: child.child_col -> parent.parent_col."""

    child: Table
    child_col: str
    parent: Table
    parent_col: str


@dataclass
class Drafter:
    info: SchemaInfo
    dialect: str
    rng: random.Random
    tables: list[Table] = field(init=False)
    joins: list[Join] = field(init=False)
    _keys: set = field(init=False)

    def __post_init__(self):
        self.tables = [t for t in self.info.tables if t.rows > 0 and t.columns]
        present = {t.name for t in self.tables}
        self._keys = {(k.table, c) for k in self.info.foreign_keys for c in k.columns} | \
            {(k.ref_table, c) for k in self.info.foreign_keys for c in k.ref_columns}
        self.joins = []
        for key in self.info.foreign_keys:
            if len(key.columns) == 1 and key.table in present and key.ref_table in present \
                    and key.table != key.ref_table:
                self.joins.append(Join(self.info.table(key.table), key.columns[0], self.info.table(key.ref_table),
                                       key.ref_columns[0]))

    # ---- roles of columns ----
    def is_key(self, table: Table, column: Column) -> bool:
        return column.primary_key or (table.name, column.name) in self._keys or bool(_KEY_NAME.search(column.name))

    def plain(self, table: Table, kinds: tuple[str, ...]) -> list[Column]:
        return [c for c in table.columns if c.kind in kinds and c.examples and not self.is_key(table, c)]

    def label(self, table: Table) -> Column | None:
        """The column that names a row (name, title, ...): what "list the X" shows."""
        texts = [c for c in self.plain(table, ("text",)) if c.distinct > 1]
        named = [c for c in texts if re.search(r"(?i)name|title|label", c.name)]
        if named:
            return named[0]
        return max(texts, key=lambda c: c.distinct) if texts else None

    def categories(self, table: Table) -> list[Column]:
        """Columns whose values repeat (what GROUP BY and "for each" make sense on)."""
        sampled = min(table.rows, 2000)
        return [c for c in self.plain(table, ("text", "bool")) if 2 <= c.distinct <= LOW_CARDINALITY
                and c.distinct <= max(2, 0.6 * sampled)]

    def texts(self, table: Table) -> list[Column]:
        return [c for c in self.plain(table, ("text",)) if c.distinct >= 2]

    def numbers(self, table: Table) -> list[Column]:
        return [c for c in self.plain(table, ("number",)) if c.distinct >= 2]

    def dates(self, table: Table) -> list[Column]:
        return [c for c in self.plain(table, ("date",)) if c.distinct >= 2]

    # ---- random choices ----
    def pick(self, items):
        return self.rng.choice(items) if items else None

    def say(self, phrasings: list[str], **slots) -> str:
        text = self.rng.choice(phrasings).format(**slots)
        return text[0].upper() + text[1:]

    def tables_with(self, role) -> list[tuple[Table, list[Column]]]:
        return [(t, cols) for t in self.tables if (cols := role(t))]

    def number_threshold(self, column: Column):
        value = self.rng.choice(column.examples)
        if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool) and self.rng.random() < .5:
            value = _round_2(value)
        return value

    # ---- SQL pieces ----
    def col(self, column: Column | str, alias: str | None = None) -> exp.Column:
        return column_ref(column if isinstance(column, str) else column.name, self.dialect, alias)

    def tab(self, table: Table, alias: str | None = None) -> exp.Expression:
        return table_ref(table.name, self.dialect, alias)

    def select(self, *columns, table: Table, alias: str | None = None) -> exp.Select:
        return exp.select(*columns).from_(self.tab(table, alias))

    def join(self, query: exp.Select, hop: Join, child_alias: str, parent_alias: str, add: str) -> exp.Select:
        """Join the `add` side ("parent" or "child") of a hop onto a query that has the other side."""
        on = exp.EQ(this=self.col(hop.child_col, child_alias), expression=self.col(hop.parent_col, parent_alias))
        table = self.tab(hop.parent, parent_alias) if add == "parent" else self.tab(hop.child, child_alias)
        return query.join(table, on=on)

    # ---- words ----
    @staticmethod
    def nouns(table: Table) -> tuple[str, str]:
        return table_nouns(table.name)

    @staticmethod
    def words(column: Column | str) -> str:
        return humanise(column if isinstance(column, str) else column.name)

    @staticmethod
    def words_plural(column: Column) -> str:
        return column_plural(column.name)

    @staticmethod
    def spoken(value) -> str:
        return spoken_value(value)


def literal(value) -> exp.Expression:
    """A value from the database as a SQL literal (numbers stay numbers, dates become ISO strings)."""
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, float)):
        return exp.Literal.number(value)
    if isinstance(value, decimal.Decimal):
        return exp.Literal.number(format(value.normalize(), "f"))
    if isinstance(value, datetime.datetime):
        return exp.Literal.string(value.date().isoformat())
    if isinstance(value, datetime.date):
        return exp.Literal.string(value.isoformat())
    return exp.Literal.string(str(value))


def _round_2(value):
    """Two significant digits, as people type thresholds (1719.96 -> 1700)."""
    number = float(value)
    if number == 0:
        return value
    digits = len(str(int(abs(number)))) - 2
    rounded = round(number, -digits) if digits > 0 else round(number, 1 - digits if abs(number) < 10 else 0)
    return int(rounded) if float(rounded).is_integer() else rounded


AGGREGATES = {  # function, words for the question
    "avg": (exp.Avg, ["average", "mean"]),
    "sum": (exp.Sum, ["total", "sum of the"]),
    "min": (exp.Min, ["minimum", "lowest", "smallest"]),
    "max": (exp.Max, ["maximum", "highest", "largest"]),
}
