"""What core.db.introspect finds in a database, as data: tables (Table) with their columns (Column: type, kind,
example values), foreign keys (ForeignKey, declared or inferred) and the whole (SchemaInfo), which writes the compact
CREATE TABLEs of the prompt and the core.data Schema that validation checks names against.

Templates (core.pairgen.draft and the template modules), the pre-flight and the studio's schema panel read these; only
core.db.introspect and core.db.foreign_keys make them.
"""

from dataclasses import dataclass, field

from sqlglot import exp

from core.data import Schema
from core.db.sqlnames import ident, table_ref


@dataclass
class Column:
    name: str
    type: str  # as the database declares it
    kind: str = "other"  # number | text | date | bool | other (what filters make sense on it)
    primary_key: bool = False
    examples: list = field(default_factory=list)  # distinct non-null values, most frequent first
    distinct: int = 0  # distinct non-null values among the sampled rows
    nulls: int = 0  # null values among the sampled rows


@dataclass
class ForeignKey:
    table: str
    columns: list[str]
    ref_table: str
    ref_columns: list[str]
    inferred: bool = False

    @property
    def label(self) -> str:
        cols, refs = ", ".join(self.columns), ", ".join(self.ref_columns)
        return f"{self.table}({cols}) -> {self.ref_table}({refs})" + (" (inferred)" if self.inferred else "")


@dataclass
class Table:
    name: str
    columns: list[Column]
    rows: int = 0
    primary_key: list[str] = field(default_factory=list)
    sample: list[tuple] = field(default_factory=list)  # a few whole rows, values in the order of `columns`

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name.lower() == name.lower()), None)


@dataclass
class SchemaInfo:
    dialect: str
    tables: list[Table]
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # tables that could not be counted or sampled, and why

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name.lower() == name.lower()), None)

    def without_keys(self, labels: set[str]) -> "SchemaInfo":
        """A copy without the foreign keys whose label the user unticked."""
        return SchemaInfo(
            self.dialect, self.tables, [k for k in self.foreign_keys if k.label not in labels], self.problems
        )

    def ddl(self, dialect: str | None = None, tables: set[str] | None = None) -> str:
        """Compact CREATE TABLE statements (names and types only), as they go into the prompt."""
        dialect = dialect or self.dialect
        wanted = {t.lower() for t in tables} if tables is not None else None
        out = []
        for table in self._referenced_first():
            if wanted is not None and table.name.lower() not in wanted:
                continue
            columns = [
                exp.ColumnDef(this=ident(c.name, dialect), kind=_data_type(c.type, self.dialect))
                for c in table.columns
            ]
            keys = self._keys_of(table, dialect)
            create = exp.Create(
                kind="TABLE", this=exp.Schema(this=table_ref(table.name, dialect), expressions=columns + keys)
            )
            out.append(create.sql(dialect=dialect) + ";")
        return "\n".join(out)

    def _referenced_first(self) -> list["Table"]:
        """The tables in an order a database can create them in: a table after those its foreign keys refer to."""
        done: list[Table] = []
        waiting = list(self.tables)
        while waiting:
            ready = [
                t
                for t in waiting
                if all(
                    k.ref_table in {d.name for d in done} or k.ref_table == t.name
                    for k in self.foreign_keys
                    if k.table == t.name
                )
            ] or waiting[:1]
            done.append(ready[0])
            waiting.remove(ready[0])
        return done

    def _keys_of(self, table: "Table", dialect: str) -> list[exp.Expression]:
        """PRIMARY KEY (...) and FOREIGN KEY (...) REFERENCES ... (...) of a table: how its rows join others."""
        keys: list[exp.Expression] = []
        if table.primary_key:
            keys.append(exp.PrimaryKey(expressions=[ident(c, dialect) for c in table.primary_key]))
        for key in self.foreign_keys:
            if key.table == table.name:
                reference = exp.Reference(
                    this=exp.Schema(
                        this=table_ref(key.ref_table, dialect),
                        expressions=[ident(c, dialect) for c in key.ref_columns],
                    )
                )
                keys.append(
                    exp.ForeignKey(expressions=[ident(c, dialect) for c in key.columns], reference=reference)
                )
        return keys

    def to_schema(self, dialect: str | None = None) -> Schema:
        """The core.data Schema (table -> columns, plus the DDL) that static validation checks names against."""
        return Schema({t.name: [c.name for c in t.columns] for t in self.tables}, self.ddl(dialect))

    def summary(self) -> str:
        keys = len(self.foreign_keys)
        inferred = sum(k.inferred for k in self.foreign_keys)
        return (
            f"{len(self.tables)} tables, {sum(len(t.columns) for t in self.tables)} columns, "
            f"{sum(t.rows for t in self.tables):,} rows, {keys} foreign keys ({inferred} inferred)"
        )


def _data_type(declared: str, dialect: str) -> exp.DataType:
    try:
        return exp.DataType.build(declared or "TEXT", dialect=dialect)
    except Exception:  # noqa: BLE001 - an exotic type name: the prompt still gets the column, as text
        return exp.DataType.build("TEXT")
