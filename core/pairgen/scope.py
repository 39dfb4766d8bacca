"""What a pair template's query is made of and what it gives back: the Scope (the FROM part: one table, or tables
joined along foreign-key Hops), a Condition with its words, and the Draft (the SQL as a sqlglot expression with the
question's wordings). The Drafter (core.pairgen.draft) makes scopes, core.pairgen.templates.filters conditions; the
templates return drafts.
"""

from dataclasses import dataclass, field

from sqlglot import exp

from core.db.schema_info import Column, Table
from core.pairgen.phrasing import humanise


@dataclass
class Draft:
    template: str
    questions: list[tuple[str, str]]  # (phrasing id, question): the wordings of the same SQL
    sql: exp.Expression

    @property
    def question(self) -> str:
        return self.questions[0][1]


@dataclass(frozen=True)
class Hop:
    """One foreign-key step: child.child_col -> parent.parent_col. `shared`: the child refers to the parent through
    more than one column (follower/followed), so words must name the column, not only the tables."""

    child: Table
    child_col: str
    parent: Table
    parent_col: str
    shared: bool = False

    def role(self) -> str:
        """The child's key column in words, the parent's role: 'follower', 'start station'."""
        return humanise(self.child_col).removesuffix(" id")

    def via(self) -> str:
        """How the child reaches the parent, in words: '' for the only key, 'as follower' for one of two."""
        return f" as {self.role()}" if self.shared else ""


@dataclass
class Scope:
    """The FROM part of a query: one table, or tables joined along foreign keys (T1, T2, ... as Spider writes)."""

    tables: list[Table]
    hops: list[Hop] = field(default_factory=list)  # hops[i] joins tables[i] and tables[i + 1]

    @property
    def joined(self) -> bool:
        return len(self.tables) > 1

    def alias(self, i: int) -> str | None:
        return f"T{i + 1}" if self.joined else None

    def index(self, table: Table) -> int:
        return next(i for i, t in enumerate(self.tables) if t is table)


@dataclass
class Condition:
    expr: exp.Expression
    table: Table
    column: Column
    words: str  # "whose age is above 30", relative to the condition's own table
