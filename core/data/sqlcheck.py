"""The checks of one SQL string, as validation runs them on every pair: does it parse in the dialect, is it one read
statement (WRITE_STATEMENTS are flagged), and do its tables and columns exist in the schema (check_names, which
follows scopes, aliases, CTEs and subqueries). `check_sql` gives (severity, kind, problem, fix) tuples and keeps them
by `sql_shape`, so SQL that differs only in its values is parsed once.

core.data.validate runs check_sql on every distinct query of a file (cached, in a process per core for big files).
"""

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.tokens import Token, TokenType

from core.data.report import ERROR, WARNING
from core.data.sqlparse import _PARSER_CRASHES, parse_problem, parse_tokens, tokenize_sql

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


def source_columns(source, known: dict[str, set[str]]) -> set[str] | None:
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


def query_scopes(tree: exp.Expression) -> list[Scope] | None:
    """The query's scopes, innermost first (sqlglot's traverse_scope), or None when sqlglot cannot follow them."""
    try:
        return list(traverse_scope(tree))
    except (sqlglot.errors.SqlglotError, *_PARSER_CRASHES):
        return None


def visible_scopes(scope: Scope):
    """The scope, then the enclosing ones whose FROM it may refer to (a subquery may be correlated; a CTE or a
    derived table may not)."""
    yield scope
    while scope.parent is not None and (
        scope.is_subquery or scope.is_set_operation or scope.is_udtf or scope.can_be_correlated
    ):
        scope = scope.parent
        yield scope


def scope_columns(scope: Scope) -> list[exp.Column]:
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
    scopes = query_scopes(tree)
    if scopes is None:
        return []  # sqlglot cannot follow this query's scopes; it parsed, so nothing more to say
    problems = []
    entries = {id(scope): _entries(scope, known, problems) for scope in scopes}
    for scope in scopes:
        visible = [entries[id(outer)] for outer in visible_scopes(scope) if id(outer) in entries]
        for column in scope_columns(scope):
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
        out.append((name.lower(), source.name if is_table else name, source_columns(source, known)))
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
