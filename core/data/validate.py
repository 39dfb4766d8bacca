"""Validation report for a list of pairs: every problem of every row, never stopping at the first.

Each finding names the row, the field, the problem in plain words and how to fix it. Errors make a row
unfit for training (the UI can exclude those rows); warnings are worth a look but do not block.
"""

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from core.data.load import Pair
from core.data.schema import Schema, parse_schema
from core.data.sqlparse import parse_sql

ERROR, WARNING = "error", "warning"

# Statement types that change data or structure. Model-written SQL of these kinds is never executed, and
# training pairs of these kinds are flagged: the studio teaches read queries.
WRITE_STATEMENTS = (exp.Insert, exp.Update, exp.Delete, exp.Drop, exp.Alter, exp.Create, exp.Merge,
                    exp.TruncateTable, exp.Command, exp.Copy, exp.Grant, exp.Set, exp.Use)

# Summary keys, in display order, with the label the UI shows.
SUMMARY_LABELS = {
    "rows": "rows", "trainable": "rows that will train", "errors": "rows with errors",
    "warnings": "rows with warnings", "empty": "missing or empty fields", "duplicates": "exact duplicates",
    "conflicts": "same question, different SQL", "invalid_sql": "invalid SQL", "writes": "statements that write",
    "unknown_names": "unknown tables/columns", "too_long": "too long",
    # filled by the pre-flight on a connected database (core.db.preflight)
    "db_errors": "fail on the database", "db_empty": "empty results", "db_timeouts": "time outs",
}
DATABASE_KINDS = ("db_errors", "db_empty", "db_timeouts")


@dataclass
class Finding:
    row: int
    field: str
    severity: str
    problem: str
    fix: str
    kind: str  # one of SUMMARY_LABELS' keys


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)
    token_lengths: list[int] = field(default_factory=list)  # per row, same order as the pairs
    token_stats: dict[str, float] = field(default_factory=dict)
    error_rows: set[int] = field(default_factory=set)
    preflight: str = ""  # "N of M run on your database", when the pairs were run on a connected database

    @property
    def ok(self) -> bool:
        return not self.error_rows

    def as_text(self, limit: int = 50) -> str:
        lines = [", ".join(f"{SUMMARY_LABELS[k]}: {v}" for k, v in self.summary.items()
                           if self.preflight or k not in DATABASE_KINDS)]
        if self.preflight:
            lines.append(self.preflight)
        if self.token_stats:
            lines.append("tokens per row: " + ", ".join(f"{k} {v:g}" for k, v in self.token_stats.items()))
        for f in self.findings[:limit]:
            lines.append(f"row {f.row} [{f.severity}] {f.field}: {f.problem} -> {f.fix}")
        if len(self.findings) > limit:
            lines.append(f"... and {len(self.findings) - limit} more findings")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"summary": self.summary, "token_stats": self.token_stats, "preflight": self.preflight,
                "findings": [f.__dict__ for f in self.findings]}


def _normalise_question(q: str) -> str:
    return re.sub(r"\s+", " ", q.strip().lower())


def _names_in(tree: exp.Expression) -> tuple[set[str], list[exp.Column], set[str], dict[str, str]]:
    """Tables used (minus CTEs), columns referenced, output aliases, and alias -> table, in one walk of the tree
    (validation of 100,000 rows is mostly parsing and walking)."""
    ctes, tables, columns, aliases, alias_of = set(), set(), [], set(), {}
    for node in tree.walk():
        if isinstance(node, exp.Column):
            columns.append(node)
        elif isinstance(node, exp.Table):
            tables.add(node.name.lower())
            alias_of[(node.alias or node.name).lower()] = node.name.lower()
        elif isinstance(node, exp.CTE):
            ctes.add(node.alias_or_name.lower())
        elif isinstance(node, exp.Alias) and node.alias:
            aliases.add(node.alias.lower())
        elif isinstance(node, exp.Subquery) and node.alias:
            aliases.add(node.alias_or_name.lower())
    return {t for t in tables if t and t not in ctes}, columns, aliases | ctes, alias_of


def check_names(tree: exp.Expression, known: dict[str, set[str]]) -> list[str]:
    """Tables and columns the SQL uses that the schema does not have."""
    tables, columns, aliases, alias_of = _names_in(tree)
    problems = [f"unknown table '{t}'" for t in sorted(tables - known.keys())]
    all_columns = set().union(*known.values()) if known else set()
    for col in columns:
        name, qualifier = col.name.lower(), col.table.lower()
        if not name or name == "*" or name in aliases:
            continue
        table = alias_of.get(qualifier, qualifier)
        if qualifier and table in known:
            if name not in known[table]:
                problems.append(f"unknown column '{col.table}.{col.name}'")
        elif not qualifier and name not in all_columns:
            problems.append(f"unknown column '{col.name}'")
    return list(dict.fromkeys(problems))


def check_sql(sql: str, dialect: str, known: dict[str, set[str]] | None = None) -> list[tuple[str, str, str, str]]:
    """Problems of one SQL string as (severity, kind, problem, fix). Empty list when it is fine."""
    try:
        trees = [t for t in parse_sql(sql, dialect) if t is not None]
    except sqlglot.errors.SqlglotError as e:
        reason = str(e).splitlines()[0][:160]
        return [(ERROR, "invalid_sql", f"does not parse as {dialect} SQL: {reason}",
                 "correct the SQL, or pick the dialect it is written in")]
    if not trees:
        return [(ERROR, "empty", "SQL is empty", "write the SQL that answers the question")]
    out = []
    if len(trees) > 1:
        out.append((ERROR, "writes", f"{len(trees)} statements in one answer",
                    "keep one SELECT statement per pair"))
    for tree in trees:
        if isinstance(tree, WRITE_STATEMENTS) or tree.find(exp.Insert, exp.Update, exp.Delete, exp.Drop):
            out.append((ERROR, "writes", f"{tree.key.upper()} statement changes data or structure",
                        "use read-only SELECT queries as answers"))
        elif known:
            out.extend((ERROR, "unknown_names", p, "fix the name, or add it to the schema")
                       for p in check_names(tree, known))
    return out


def validate_pairs(pairs: list[Pair], schema: Schema | None = None, dialect: str = "postgres",
                   count_tokens: Callable[[list[Pair]], list[int]] | None = None,
                   max_seq_length: int = 2048) -> Report:
    """Check every row; `count_tokens` (from the chosen model's tokenizer) enables the length checks."""
    report = Report()
    add = report.findings.append
    global_known = schema.lookup() if schema else {}
    row_schema_cache: dict[str, dict[str, set[str]]] = {}
    seen_exact: dict[tuple[str, str], int] = {}
    sql_by_question: dict[str, dict[str, int]] = defaultdict(dict)
    parse_cache: dict[str, list] = {}

    for p in pairs:
        for problem in p.problems:
            add(Finding(p.row, "row", ERROR, problem, "give each row a text question and a text SQL", "empty"))
        if not p.question:
            add(Finding(p.row, "question", ERROR, "question is missing or empty", "write the question", "empty"))
        if not p.sql:
            add(Finding(p.row, "sql", ERROR, "SQL is missing or empty", "write the SQL answer", "empty"))
        if not (p.question and p.sql):
            continue
        key = (_normalise_question(p.question), p.sql.strip())
        if key in seen_exact:
            add(Finding(p.row, "row", WARNING, f"exact duplicate of row {seen_exact[key]}",
                        "remove one copy (duplicates weigh that pair twice)", "duplicates"))
        else:
            seen_exact[key] = p.row
        sql_by_question[key[0]].setdefault(key[1], p.row)

        known = global_known
        if p.schema and not schema:  # a per-row schema (e.g. a 'context' column of CREATE TABLEs)
            if p.schema not in row_schema_cache:
                try:
                    row_schema_cache[p.schema] = parse_schema(p.schema, dialect).lookup()
                except ValueError:
                    row_schema_cache[p.schema] = {}
            known = row_schema_cache[p.schema]
        cache_key = (p.sql, id(known))
        if cache_key not in parse_cache:
            parse_cache[cache_key] = check_sql(p.sql, dialect, known)
        for severity, kind, problem, fix in parse_cache[cache_key]:
            add(Finding(p.row, "sql", severity, problem, fix, kind))

    for variants in sql_by_question.values():
        if len(variants) > 1:
            rows = sorted(variants.values())
            for row in rows:
                others = ", ".join(str(r) for r in rows if r != row)
                add(Finding(row, "sql", WARNING, f"same question as row {others} with different SQL",
                            "keep the correct SQL, or make the questions differ", "conflicts"))

    if count_tokens is not None:
        report.token_lengths = list(count_tokens(pairs))
        for p, n in zip(pairs, report.token_lengths, strict=True):
            if n > max_seq_length:
                add(Finding(p.row, "row", WARNING,
                            f"{n} tokens, over the max sequence length of {max_seq_length}: the end will be cut",
                            "shorten the schema or question, or raise the max sequence length", "too_long"))
        lengths = report.token_lengths
        if lengths:
            ordered = sorted(lengths)
            report.token_stats = {"min": ordered[0], "mean": round(statistics.fmean(lengths), 1),
                                  "p50": ordered[len(ordered) // 2], "p95": ordered[int(len(ordered) * 0.95) - 1 if len(ordered) > 1 else 0],
                                  "max": ordered[-1]}

    report.findings.sort(key=lambda f: (f.row, f.severity != ERROR))
    report.error_rows = {f.row for f in report.findings if f.severity == ERROR}
    warning_rows = {f.row for f in report.findings if f.severity == WARNING}
    kinds = Counter(f.kind for f in report.findings)
    report.summary = {"rows": len(pairs), "trainable": sum(p.row not in report.error_rows for p in pairs),
                      "errors": len(report.error_rows), "warnings": len(warning_rows)}
    report.summary.update({k: kinds.get(k, 0) for k in list(SUMMARY_LABELS)[4:]})
    return report


def trainable_pairs(pairs: list[Pair], report: Report) -> list[Pair]:
    """The pairs without errors: what 'exclude rows with errors' keeps."""
    return [p for p in pairs if p.row not in report.error_rows]
