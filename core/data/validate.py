"""Validation report for a list of pairs: every problem of every row, never stopping at the first.

Each finding names the row, the field, the problem in plain words and how to fix it. Errors make a row
unfit for training (the UI can exclude those rows); warnings are worth a look but do not block.
"""

import contextvars
import os
import statistics
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.tokens import Token, TokenType

from core.data.load import Pair
from core.data.schema import Schema, parse_schema
from core.data.sqlparse import _PARSER_CRASHES, parse_problem, parse_tokens, tokenize_sql

ERROR, WARNING = "error", "warning"

# Statement types that change data or structure. Model-written SQL of these kinds is never executed, and
# training pairs of these kinds are flagged: the studio teaches read queries.
WRITE_STATEMENTS = (
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Drop,
    exp.Alter,
    exp.Create,
    exp.Merge,
    exp.TruncateTable,
    exp.Command,
    exp.Copy,
    exp.Grant,
    exp.Set,
    exp.Use,
)

# Summary keys, in display order, with the label the UI shows.
SUMMARY_LABELS = {
    "rows": "rows",
    "trainable": "rows that will train",
    "errors": "rows with errors",
    "warnings": "rows with warnings",
    "empty": "missing or empty fields",
    "duplicates": "exact duplicates",
    "conflicts": "same question, different SQL",
    "invalid_sql": "invalid SQL",
    "writes": "statements that write",
    "unknown_names": "unknown tables/columns",
    "too_long": "too long",
    # filled by the pre-flight on a connected database (core.db.preflight)
    "db_errors": "fail on the database",
    "db_empty": "empty results",
    "db_timeouts": "time outs",
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
        lines = [
            ", ".join(
                f"{SUMMARY_LABELS[k]}: {v}"
                for k, v in self.summary.items()
                if self.preflight or k not in DATABASE_KINDS
            )
        ]
        if self.preflight:
            lines.append(self.preflight)
        if self.token_stats:
            lines.append("tokens per row: " + ", ".join(f"{k} {v:g}" for k, v in self.token_stats.items()))
        for f in self.findings[:limit]:
            lines.append(f"row {f.row} [{f.severity}] {f.field}: {f.problem} -> {f.fix}")
        if len(self.findings) > limit:
            lines.append(f"... and {len(self.findings) - limit} more findings")
        return "\n".join(lines)

    def to_dict(self, whole: bool = False) -> dict:
        """The report as JSON data (MLflow's artifact); `whole` adds what `from_dict` needs to rebuild it."""
        data = {
            "summary": self.summary,
            "token_stats": self.token_stats,
            "preflight": self.preflight,
            "findings": [f.__dict__ for f in self.findings],
        }
        if whole:
            data.update(token_lengths=self.token_lengths, error_rows=sorted(self.error_rows))
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Report":
        return cls(
            [Finding(**f) for f in data["findings"]],
            data["summary"],
            data["token_lengths"],
            data["token_stats"],
            set(data["error_rows"]),
            data.get("preflight", ""),
        )


def _normalise_question(q: str) -> str:
    return " ".join(q.lower().split())  # runs of whitespace as one space (str.split's whitespace is re's \s)


def _source_columns(source, known: dict[str, set[str]]) -> set[str] | None:
    """Lower-cased column names a FROM/JOIN source offers; None when they cannot be known (a table missing from
    the schema, which is reported on its own; a table function; a subquery that selects *)."""
    if isinstance(source, exp.Table):
        aliased = source.alias_column_names  # FROM t AS x(a, b)
        if aliased:
            return {c.lower() for c in aliased}
        return known.get(source.name.lower()) if source.name else None
    if source.outer_columns:  # (SELECT ...) AS d(a, b)
        return {c.lower() for c in source.outer_columns}
    query = source.expression
    if not isinstance(query, exp.Query) or any(e.is_star for e in query.selects):
        return None
    return {name.lower() for name in query.named_selects}


def _visible_scopes(scope: Scope):
    """The scope, then the enclosing ones whose FROM it may refer to (a subquery may be correlated; a CTE or a
    derived table may not)."""
    yield scope
    while scope.parent is not None and (
        scope.is_subquery or scope.is_set_operation or scope.is_udtf or scope.can_be_correlated
    ):
        scope = scope.parent
        yield scope


def _scope_columns(scope: Scope) -> list[exp.Column]:
    """The columns written in this scope itself (not in its subqueries). sqlglot's `columns` leaves out unqualified
    names in HAVING (they may be output aliases); they are checked here too, aliases being allowed."""
    mine = scope.column_index
    # columns of correlated subqueries are listed in their enclosing scope too: keep them to their own scope
    own = [c for c in scope.columns if id(c) in mine]
    having = scope.expression.args.get("having") if isinstance(scope.expression, exp.Select) else None
    if having is not None:
        listed = {id(c) for c in own}
        own += [
            c
            for c in having.find_all(exp.Column)
            if id(c) in mine and id(c) not in listed and not isinstance(c.this, exp.Star)
        ]
    return own


def _tables_text(names: list[str]) -> str:
    return " or ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " or " + names[-1]


# One FROM/JOIN entry of a scope: its name there (alias or table, lower-cased), the name to show, its columns.
_Source = tuple[str, str, set[str] | None]


def check_names(
    tree: exp.Expression, known: dict[str, set[str]], dialect: str = "postgres"
) -> list[tuple[str, str, str]]:
    """Tables and columns the SQL uses that the schema does not have, as (severity, problem, fix), checked per scope
    (sqlglot's traverse_scope): an unqualified column must belong to a table of its own FROM/JOIN (or, in a
    correlated subquery, of an enclosing one), or be an output alias of its SELECT; a qualified one to the table
    its qualifier names."""
    try:
        scopes = traverse_scope(tree)
    except (sqlglot.errors.SqlglotError, *_PARSER_CRASHES):
        return []  # sqlglot cannot follow this query's scopes; it parsed, so nothing more to say
    problems = []
    entries = {id(scope): _entries(scope, known, problems) for scope in scopes}
    for scope in scopes:
        visible = [entries[id(outer)] for outer in _visible_scopes(scope) if id(outer) in entries]
        for column in _scope_columns(scope):
            problem = _column_problem(column, scope, visible, dialect)
            if problem:
                problems.append(problem)
    return list(dict.fromkeys(problems))


def _entries(scope: Scope, known: dict[str, set[str]], problems: list) -> list[_Source]:
    out = []
    for name, _ in scope.references:
        source = scope.sources.get(name)
        is_table = isinstance(source, exp.Table) and bool(source.name)
        if is_table and source.name.lower() not in known:
            problems.append(
                (ERROR, f"unknown table '{source.name}'", "fix the name, or add it to the schema")
            )
        out.append((name.lower(), source.name if is_table else name, _source_columns(source, known)))
    return out


def _column_problem(column: exp.Column, scope: Scope, visible: list[list[_Source]], dialect: str):
    name, qualifier = column.name.lower(), column.table.lower()
    if not name:
        return None
    if qualifier:
        for sources in visible:  # the nearest scope that has this alias wins, as in SQL
            for alias, label, offered in sources:
                if alias == qualifier:
                    if offered is None or name in offered:
                        return None
                    return (
                        ERROR,
                        f"unknown column '{column.table}.{column.name}' (not a column of {label})",
                        "fix the name, or add it to the schema",
                    )
        if any(offered is None or qualifier in offered for sources in visible for _, _, offered in sources):
            return None  # s.field where s is a column (a struct), or a table whose columns are unknown
        return (
            ERROR,
            f"unknown table or alias '{column.table}' in '{column.table}.{column.name}'",
            "name a table or alias of this query's FROM/JOIN",
        )
    if isinstance(scope.expression, exp.Select) and any(
        isinstance(e, exp.Alias) and e.alias.lower() == name for e in scope.expression.selects
    ):
        return None  # an output alias of this SELECT (GROUP BY total, HAVING total > 1)
    labels = []
    for sources in visible:
        for _, label, offered in sources:
            if offered is None or name in offered:
                return None
            labels.append(label)
    if not labels:
        return None  # no FROM to check against (e.g. the ORDER BY of a UNION)
    where = _tables_text(list(dict.fromkeys(labels)))
    if dialect == "sqlite" and column.this.args.get("quoted"):
        return (
            WARNING,
            f'"{column.name}" is no column of {where}, so SQLite reads it as the text '
            f"'{column.name}' (other databases read it as a column name and fail)",
            f"write text in single quotes: '{column.name}'",
        )
    return (
        ERROR,
        f"unknown column '{column.name}' (not a column of {where})",
        "fix the name, or add it to the schema",
    )


# Names, keywords and structure make a finding; a value does not, nor do comments (sqlglot keeps them beside the
# tokens). So a number or a string is left out of a query's shape where it can only be a value: after a comparison,
# an operator or a clause word below, and after a comma or "(" outside FROM/JOIN. Elsewhere it may be a name or
# change how the query parses: `amount 'total'` and `AS 'total'` are aliases (MySQL, SQL Server, SQLite),
# `FROM orders, 'customers'` names a table, `a.1` and BigQuery's `orders-2024` are names, and an INTERVAL's string
# decides whether the next word is its unit.
_VALUE_PLACES = frozenset(
    {
        TokenType.EQ,
        TokenType.NEQ,
        TokenType.LT,
        TokenType.LTE,
        TokenType.GT,
        TokenType.GTE,
        TokenType.LIKE,
        TokenType.ILIKE,
        TokenType.IN,
        TokenType.BETWEEN,
        TokenType.AND,
        TokenType.OR,
        TokenType.THEN,
        TokenType.ELSE,
        TokenType.WHEN,
        TokenType.PLUS,
        TokenType.STAR,
        TokenType.SLASH,
        TokenType.DPIPE,
        TokenType.NOT,
        TokenType.IS,
        TokenType.SELECT,
        TokenType.LIMIT,
        TokenType.OFFSET,
        TokenType.TOP,
    }
)
_LIST_PLACES = frozenset({TokenType.COMMA, TokenType.L_PAREN})  # value places outside FROM/JOIN only
_FROM_WORDS = frozenset({TokenType.FROM, TokenType.JOIN})
_OTHER_CLAUSES = frozenset(
    {
        TokenType.SELECT,
        TokenType.WHERE,
        TokenType.ON,
        TokenType.USING,
        TokenType.GROUP_BY,
        TokenType.HAVING,
        TokenType.ORDER_BY,
        TokenType.QUALIFY,
        TokenType.LIMIT,
        TokenType.OFFSET,
    }
)
_VALUE_KINDS = frozenset({TokenType.NUMBER, TokenType.STRING})
SHAPES_MAX = 20_000


def sql_shape(tokens: list[Token]) -> tuple:
    """The SQL with its values and comments left out: queries of one shape have the same findings."""
    kinds = [token.token_type for token in tokens]
    texts = [token.text for token in tokens]
    in_from = None
    for i in [i for i, kind in enumerate(kinds) if kind in _VALUE_KINDS]:
        before = kinds[i - 1] if i else None
        if before in _VALUE_PLACES:
            texts[i] = ""
        elif before in _LIST_PLACES:
            in_from = in_from or _in_from_clause(kinds)
            if not in_from[i]:
                texts[i] = ""
    return tuple(kinds), tuple(texts)


def _in_from_clause(kinds: list[TokenType]) -> list[bool]:
    """For each token, whether it sits in a FROM/JOIN clause (a parenthesis starts in the clause around it)."""
    out, outer, in_from = [], [], False
    for kind in kinds:
        out.append(in_from)
        if kind in _FROM_WORDS:
            in_from = True
        elif kind in _OTHER_CLAUSES:
            in_from = False
        elif kind is TokenType.L_PAREN:
            outer.append(in_from)
        elif kind is TokenType.R_PAREN and outer:
            in_from = outer.pop()
    return out


def check_sql(
    sql: str, dialect: str, known: dict[str, set[str]] | None = None, shapes: dict[tuple, list] | None = None
) -> list[tuple[str, str, str, str]]:
    """Problems of one SQL string as (severity, kind, problem, fix). Empty list when it is fine.

    `shapes` (for one dialect and schema) keeps the findings by sql_shape: a file of generated pairs repeats a few
    hundred shapes with other values, and tokenizing is a fifth of parsing and checking."""
    try:
        tokens = tokenize_sql(sql, dialect)
        shape = sql_shape(tokens) if shapes is not None else None
        if shape is not None and shape in shapes:
            return shapes[shape]
        trees = [t for t in parse_tokens(tokens, sql, dialect) if t is not None]
    except sqlglot.errors.SqlglotError as e:  # not kept by shape: the message names a line and column
        problem, fix = parse_problem(e)
        return [(ERROR, "invalid_sql", f"does not parse as {dialect} SQL: {problem[:200]}", fix)]
    out = list(
        dict.fromkeys(_tree_problems(trees, dialect, known))
    )  # one finding per problem (two DROPs: one)
    if shape is not None:
        if len(shapes) >= SHAPES_MAX:
            shapes.clear()
        shapes[shape] = out
    return out


def _tree_problems(
    trees: list[exp.Expression], dialect: str, known: dict[str, set[str]] | None
) -> list[tuple]:
    if not trees:
        return [(ERROR, "empty", "SQL is empty", "write the SQL that answers the question")]
    out = []
    if len(trees) > 1:
        out.append(
            (ERROR, "writes", f"{len(trees)} statements in one answer", "keep one SELECT statement per pair")
        )
    for tree in trees:
        if isinstance(tree, WRITE_STATEMENTS) or tree.find(exp.Insert, exp.Update, exp.Delete, exp.Drop):
            out.append(
                (
                    ERROR,
                    "writes",
                    f"{tree.key.upper()} statement changes data or structure",
                    "use read-only SELECT queries as answers",
                )
            )
        elif isinstance(tree, exp.Condition):  # a bare word or expression, e.g. "SELEC" read as a column name
            out.append(
                (
                    ERROR,
                    "invalid_sql",
                    "is not a SQL statement",
                    "write a SELECT query that answers the question",
                )
            )
        elif known:
            out.extend(
                (severity, "unknown_names", problem, fix)
                for severity, problem, fix in check_names(tree, known, dialect)
            )
    return out


PARALLEL_MIN_SQL = 4000  # below this, starting processes costs more than it saves
CHUNK = 2000


_worker_shapes: dict[tuple, dict[tuple, list]] = {}  # in each checking process, by schema: kept across chunks


def _check_chunk(job: tuple[list[str], str, dict]) -> list[list]:
    sqls, dialect, known = job
    key = _schema_key(dialect, known)
    if key not in _worker_shapes:
        _worker_shapes.clear()
    shapes = _worker_shapes.setdefault(key, {})
    return [check_sql(sql, dialect, known, shapes) for sql in sqls]


# The SQL findings of the last few schemas, kept between validations: changing only the template, the model or
# the max length (each re-validates the file) then re-counts tokens without parsing again, which is most of the
# time of a big file (100,000 distinct queries: ~20 s of parsing on 2 cores).
_FINDINGS: "OrderedDict[tuple, dict[str, list]]" = OrderedDict()
_FINDINGS_SCHEMAS, _FINDINGS_MAX_SQL = 2, 400_000
_findings_lock = threading.Lock()


def _schema_key(dialect: str, known: dict[str, set[str]]) -> tuple:
    return dialect, tuple(sorted((table, tuple(sorted(columns))) for table, columns in known.items()))


Progress = Callable[[int, int], None]  # (queries checked, queries to check)


def check_all(
    sqls: list[str], dialect: str, known: dict[str, set[str]], progress: Progress | None = None
) -> dict[str, list]:
    """check_sql of every SQL string, from the findings cache where it was checked against the same schema
    before; the rest in a process per core when there are many (sqlglot holds the GIL)."""
    key = _schema_key(dialect, known)
    with _findings_lock:
        cached = _FINDINGS.get(key, {})
        todo = [sql for sql in sqls if sql not in cached]
    found = _check_uncached(todo, dialect, known, progress or _no_progress)
    with _findings_lock:
        entry = _FINDINGS.pop(key, {})
        if len(entry) + len(found) > _FINDINGS_MAX_SQL:
            entry = {}
        entry.update(found)
        _FINDINGS[key] = entry  # the newest schema last: the oldest is dropped first
        while len(_FINDINGS) > _FINDINGS_SCHEMAS:
            _FINDINGS.popitem(last=False)
    return {sql: found[sql] if sql in found else cached[sql] for sql in sqls}


def _no_progress(done: int, total: int) -> None:
    return None


def _check_here(
    sqls: list[str], dialect: str, known: dict[str, set[str]], progress: Progress = _no_progress
) -> dict[str, list]:
    shapes: dict[tuple, list] = {}
    found = {}
    for i in range(0, len(sqls), CHUNK):
        found.update((sql, check_sql(sql, dialect, known, shapes)) for sql in sqls[i : i + CHUNK])
        progress(len(found), len(sqls))
    return found


def _check_uncached(
    sqls: list[str], dialect: str, known: dict[str, set[str]], progress: Progress
) -> dict[str, list]:

    workers = min(os.cpu_count() or 1, 8)
    if len(sqls) < PARALLEL_MIN_SQL or workers < 2:
        return _check_here(sqls, dialect, known, progress)
    import multiprocessing

    chunks = [sqls[i : i + CHUNK] for i in range(0, len(sqls), CHUNK)]
    try:
        # spawned, never forked: the studio's threads and sockets must not be copied into the workers
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = []
            for found in pool.map(_check_chunk, [(chunk, dialect, known) for chunk in chunks]):
                results.append(found)
                progress(min(len(results) * CHUNK, len(sqls)), len(sqls))
    except (
        BrokenProcessPool,
        RuntimeError,
        OSError,
    ):  # e.g. a caller's script that cannot be re-imported safely
        return _check_here(sqls, dialect, known, progress)
    return {
        sql: problems
        for chunk, found in zip(chunks, results, strict=True)
        for sql, problems in zip(chunk, found, strict=True)
    }


def validate_pairs(
    pairs: list[Pair],
    schema: Schema | None = None,
    dialect: str = "postgres",
    count_tokens: Callable[[list[Pair]], list[int]] | None = None,
    max_seq_length: int = 2048,
    progress: Progress | None = None,
) -> Report:
    """Check every row; `count_tokens` (from the chosen model's tokenizer) enables the length checks; `progress`
    hears how many distinct queries are checked, from another thread that sees the caller's context variables."""
    report = Report()
    add = report.findings.append
    global_known = schema.lookup() if schema else {}
    row_schema_cache: dict[str, dict[str, set[str]]] = {}
    seen_exact: dict[tuple[str, str], int] = {}
    sql_by_question: dict[str, dict[str, int]] = defaultdict(dict)
    parse_cache: dict[tuple, list] = {}
    # The SQL checked against the global schema (nearly all of it): parsed in a process per core for big files,
    # while this thread counts tokens (its Python half leaves a core free for them).
    distinct = {p.sql for p in pairs if p.question and p.sql and not (p.schema and not schema)}
    background = ThreadPoolExecutor(1, thread_name_prefix="check-sql")
    try:
        # the caller's context goes along: a UI's progress reporter may find its page through a context variable
        checked = background.submit(
            contextvars.copy_context().run, check_all, sorted(distinct), dialect, global_known, progress
        )
        token_lengths = list(count_tokens(pairs)) if count_tokens is not None else []
        parse_cache.update(((sql, id(global_known)), problems) for sql, problems in checked.result().items())
    finally:  # a failed count (e.g. a bad template) is reported at once; the checks finish into the findings cache
        background.shutdown(wait=False)

    for p in pairs:
        for problem in p.problems:
            add(
                Finding(p.row, "row", ERROR, problem, "give each row a text question and a text SQL", "empty")
            )
        if not p.question:
            add(
                Finding(
                    p.row, "question", ERROR, "question is missing or empty", "write the question", "empty"
                )
            )
        if not p.sql:
            add(Finding(p.row, "sql", ERROR, "SQL is missing or empty", "write the SQL answer", "empty"))
        if not (p.question and p.sql):
            continue
        key = (_normalise_question(p.question), p.sql.strip())
        if key in seen_exact:
            add(
                Finding(
                    p.row,
                    "row",
                    WARNING,
                    f"exact duplicate of row {seen_exact[key]}",
                    "remove one copy (duplicates weigh that pair twice)",
                    "duplicates",
                )
            )
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
                add(
                    Finding(
                        row,
                        "sql",
                        WARNING,
                        f"same question as row {others} with different SQL",
                        "keep the correct SQL, or make the questions differ",
                        "conflicts",
                    )
                )

    if count_tokens is not None:
        report.token_lengths = token_lengths
        for p, n in zip(pairs, report.token_lengths, strict=True):
            if n > max_seq_length:
                add(
                    Finding(
                        p.row,
                        "row",
                        WARNING,
                        f"{n} tokens, over the max sequence length of {max_seq_length}: the end will be cut",
                        "shorten the schema or question, or raise the max sequence length",
                        "too_long",
                    )
                )
        if report.token_lengths:
            report.token_stats = token_stats(report.token_lengths)

    report.findings.sort(key=lambda f: (f.row, f.severity != ERROR))
    report.error_rows = {f.row for f in report.findings if f.severity == ERROR}
    warning_rows = {f.row for f in report.findings if f.severity == WARNING}
    rows_by_kind: dict[str, set[int]] = defaultdict(set)
    for f in report.findings:
        rows_by_kind[f.kind].add(f.row)
    report.summary = {
        "rows": len(pairs),
        "trainable": sum(p.row not in report.error_rows for p in pairs),
        "errors": len(report.error_rows),
        "warnings": len(warning_rows),
    }
    # the tiles count rows (a row with two write statements is one row that writes), not findings
    report.summary.update({k: len(rows_by_kind.get(k, ())) for k in list(SUMMARY_LABELS)[4:]})
    return report


def token_stats(lengths: list[int]) -> dict[str, float]:
    """min, mean, median, 95th percentile (interpolated between the rows around it) and max."""
    p95 = statistics.quantiles(lengths, n=20, method="inclusive")[18] if len(lengths) > 1 else lengths[0]
    return {
        "min": min(lengths),
        "mean": round(statistics.fmean(lengths), 1),
        "p50": statistics.median(lengths),
        "p95": round(p95, 1),
        "max": max(lengths),
    }


def trainable_pairs(pairs: list[Pair], report: Report) -> list[Pair]:
    """The pairs without errors: what 'exclude rows with errors' keeps."""
    return [p for p in pairs if p.row not in report.error_rows]
