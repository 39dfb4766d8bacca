"""Validation report (each kind of finding), schema parsing, and the train/eval split."""

import pytest

import core.data.sqlcheck as sqlcheck
import core.data.validate as validate
from core.data import Pair, SchemaError, parse_schema, split_pairs, trainable_pairs, validate_pairs

DDL = """
CREATE TABLE regions (region_id INT PRIMARY KEY, name TEXT);
CREATE TABLE sales (sale_id INT, region_id INT REFERENCES regions(region_id), amount NUMERIC(10,2));
INSERT INTO regions VALUES (1, 'North');
"""


def kinds(report, row):
    return {f.kind for f in report.findings if f.row == row}


def test_schema_parsing_keeps_tables_and_columns_and_ignores_inserts():
    schema = parse_schema(DDL)
    assert schema.tables == {"regions": ["region_id", "name"], "sales": ["sale_id", "region_id", "amount"]}


def test_schema_errors_are_clear():
    with pytest.raises(SchemaError, match="does not parse"):
        parse_schema("CREATE TABLE (", name="my.sql")
    with pytest.raises(SchemaError, match="no CREATE TABLE"):
        parse_schema("SELECT 1")


def test_each_kind_of_finding_names_its_row():
    pairs = [
        Pair(
            "Total sales per region?",
            "SELECT r.name, SUM(s.amount) AS total FROM sales s JOIN regions r "
            "ON s.region_id = r.region_id GROUP BY r.name ORDER BY total DESC",
            1,
        ),
        Pair("", "SELECT 1", 2),
        Pair("Empty SQL", "", 3),
        Pair(
            "Total sales per region?",
            "SELECT r.name, SUM(s.amount) AS total FROM sales s JOIN regions r "
            "ON s.region_id = r.region_id GROUP BY r.name ORDER BY total DESC",
            4,
        ),
        Pair("total   SALES per region?", "SELECT SUM(amount) FROM sales", 5),
        Pair("Bad SQL", "SELEC name FROM regions", 6),
        Pair("Delete", "DELETE FROM sales", 7),
        Pair("Unknown table", "SELECT * FROM customers", 8),
        Pair("Unknown column", "SELECT s.price FROM sales s", 9),
        Pair("Two statements", "SELECT 1; SELECT 2", 10),
        Pair("Typed", "SELECT 1", 11, problems=["question is a int, expected text"]),
        Pair("Unknown bare column", "SELECT colour FROM regions", 12),
    ]
    report = validate_pairs(pairs, parse_schema(DDL))
    assert kinds(report, 1) == {"conflicts"}
    assert kinds(report, 2) == {"empty"}
    assert kinds(report, 3) == {"empty"}
    assert kinds(report, 4) == {"duplicates"}  # its conflict is reported on row 1, its first copy
    assert kinds(report, 5) == {"conflicts"}
    assert kinds(report, 6) == {"invalid_sql"}
    assert kinds(report, 7) == {"writes"}
    assert kinds(report, 8) == {"unknown_names"}
    assert kinds(report, 9) == {"unknown_names"}
    assert kinds(report, 10) == {"writes"}
    assert kinds(report, 11) == {"empty"}
    assert kinds(report, 12) == {"unknown_names"}
    assert report.error_rows == {2, 3, 6, 7, 8, 9, 10, 11, 12}
    assert report.summary["rows"] == 12 and report.summary["trainable"] == 3
    assert report.summary["duplicates"] == 1 and report.summary["writes"] == 2
    assert [p.row for p in trainable_pairs(pairs, report)] == [1, 4, 5]
    assert all(f.problem and f.fix for f in report.findings)


def test_aliases_ctes_and_subqueries_are_not_unknown_names():
    sql = (
        "WITH t AS (SELECT region_id, SUM(amount) AS total FROM sales GROUP BY region_id) "
        "SELECT r.name, t.total FROM t JOIN regions r ON r.region_id = t.region_id ORDER BY total DESC"
    )
    assert validate_pairs([Pair("q", sql, 1)], parse_schema(DDL)).findings == []


SHOP = """
CREATE TABLE products (product_id INT, name TEXT, price NUMERIC);
CREATE TABLE customers (customer_id INT, name TEXT, segment TEXT);
CREATE TABLE sales (sale_id INT, customer_id INT, product_id INT, amount NUMERIC);
CREATE TABLE concert (concert_id INT, Type TEXT);
"""


def findings(sql, dialect="postgres", row=7):
    return [
        (f.row, f.severity, f.problem)
        for f in validate_pairs([Pair("q", sql, row)], parse_schema(SHOP), dialect).findings
    ]


def test_a_column_of_another_table_is_unknown_in_its_own_from():
    # segment is a column of customers, not of products: the query fails on the database
    assert findings("SELECT segment FROM products") == [
        (7, "error", "unknown column 'segment' (not a column of products)")
    ]
    assert findings("SELECT p.segment FROM customers c JOIN products p ON p.product_id = c.customer_id") == [
        (7, "error", "unknown column 'p.segment' (not a column of products)")
    ]
    assert findings("SELECT products.name FROM products p") == [
        (7, "error", "unknown table or alias 'products' in 'products.name'")
    ]
    assert findings("SELECT c.segment FROM customers c") == []


def test_an_alias_of_one_select_does_not_hide_a_wrong_column_in_another():
    assert findings("SELECT name AS segment FROM customers UNION SELECT segment FROM products") == [
        (7, "error", "unknown column 'segment' (not a column of products)")
    ]
    assert findings(
        "SELECT name, (SELECT SUM(amount) AS total FROM sales) FROM products WHERE total > 1"
    ) == [(7, "error", "unknown column 'total' (not a column of products)")]
    assert findings(
        "WITH t AS (SELECT customer_id, SUM(amount) AS total FROM sales GROUP BY customer_id) "
        "SELECT t.total, t.price FROM t"
    ) == [(7, "error", "unknown column 't.price' (not a column of t)")]


def test_scopes_accept_what_sql_accepts():
    ok = [
        "SELECT customer_id, SUM(amount) AS total FROM sales GROUP BY customer_id HAVING total > 10 ORDER BY total",
        # a correlated subquery may name the enclosing query's columns, qualified or not
        "SELECT name FROM customers c WHERE EXISTS (SELECT 1 FROM sales s WHERE s.customer_id = c.customer_id "
        "AND segment = 'retail')",
        "SELECT d.total FROM (SELECT SUM(amount) AS total FROM sales) AS d",
        "SELECT d.anything FROM (SELECT * FROM sales) AS d",
        "SELECT s.amount FROM sales s JOIN products p USING (product_id) ORDER BY s.amount",
    ]
    for sql in ok:
        assert findings(sql) == [], sql
    assert findings(
        "SELECT name FROM customers WHERE customer_id IN (SELECT customer_id FROM sales "
        "GROUP BY customer_id HAVING SUM(price) > 10)"
    ) == [(7, "error", "unknown column 'price' (not a column of sales or customers)")]


def test_double_quoted_text_is_a_warning_in_sqlite_and_an_error_elsewhere():
    sql = (
        'SELECT count(*) FROM concert WHERE Type != "Live final"'  # runs on SQLite: the quotes make a string
    )
    ((row, severity, problem),) = findings(sql, "sqlite")
    assert (row, severity) == (7, "warning") and "SQLite reads it as the text 'Live final'" in problem
    report = validate_pairs([Pair("q", sql, 7)], parse_schema(SHOP), "sqlite")
    assert (
        report.error_rows == set() and report.findings[0].fix == "write text in single quotes: 'Live final'"
    )
    assert findings(sql, "postgres") == [
        (7, "error", "unknown column 'Live final' (not a column of concert)")
    ]
    assert findings("SELECT count(*) FROM concert WHERE \"Type\" != 'x'", "sqlite") == []  # a real column
    assert findings("SELECT count(*) FROM concert WHERE Typo != 'x'", "sqlite")[0][1] == "error"


def test_dialect_matters():
    pairs = [Pair("q", "SELECT TOP 5 name FROM regions", 1)]
    assert kinds(validate_pairs(pairs, dialect="postgres"), 1) == {"invalid_sql"}
    assert validate_pairs(pairs, dialect="tsql").findings == []


def test_per_row_schema_is_used_when_there_is_no_global_schema():
    pairs = [
        Pair("q", "SELECT a FROM t", 1, schema="CREATE TABLE t (a INT)"),
        Pair("q2", "SELECT b FROM t", 2, schema="CREATE TABLE t (a INT)"),
    ]
    report = validate_pairs(pairs)
    assert kinds(report, 1) == set() and kinds(report, 2) == {"unknown_names"}


def test_token_lengths_and_too_long_rows():
    pairs = [Pair("short", "SELECT 1", 1), Pair("long " * 50, "SELECT 1", 2)]
    report = validate_pairs(
        pairs, count_tokens=lambda ps: [len(p.question.split()) + 2 for p in ps], max_seq_length=10
    )
    assert report.token_lengths == [3, 52]
    assert (
        kinds(report, 2) == {"too_long"} and 2 not in report.error_rows
    )  # a warning: the row is cut, not dropped
    assert report.token_stats["max"] == 52 and report.summary["too_long"] == 1


def test_split_keeps_paraphrases_and_same_sql_together():
    pairs = []
    names = [
        a + b
        for a in ("north", "south", "east", "west", "upper", "lower")
        for b in ("field", "wood", "ton", "ham", "by", "ley", "stead", "wick", "mouth", "port")
    ]
    for i, name in enumerate(names):
        pairs.append(
            Pair(f"How many sales in {name}?", f"SELECT COUNT(*) FROM sales WHERE region = '{name}'", 2 * i)
        )
        pairs.append(
            Pair(
                f"Count the sales of {name}", f"SELECT COUNT(*) FROM sales WHERE region = '{name}'", 2 * i + 1
            )
        )
    train, held = split_pairs(pairs, 0.1, seed=1)
    assert len(held) >= 12 and len(train) + len(held) == 120
    held_sql = {p.sql for p in held}
    assert not any(p.sql in held_sql for p in train)
    assert split_pairs(pairs, 0.1, seed=1) == (train, held)  # seeded: the same split every time
    # near-identical questions (differing only in case, spacing, literals) stay together
    near = [Pair("Sales in 'North'?", "SELECT 1", 1), Pair("sales  in 'South' ?", "SELECT 2", 2)] + [
        Pair(f"q{i} unique words {chr(97 + i % 26)}{i}", f"SELECT {i + 10}", i + 3) for i in range(40)
    ]
    train, held = split_pairs(near, 0.25, seed=3)
    assert ({1, 2} <= {p.row for p in held}) or ({1, 2} <= {p.row for p in train})


def test_token_statistics_of_a_tiny_file_are_computed_right():
    pairs = [Pair("q1", "SELECT 1", 1), Pair("q2", "SELECT 2", 2)]
    report = validate_pairs(pairs, count_tokens=lambda ps: [58, 48][: len(ps)])
    # by hand: sorted 48, 58; median (48 + 58) / 2 = 53; 95th percentile 48 + 0.95 x 10 = 57.5
    assert report.token_stats == {"min": 48, "mean": 53.0, "p50": 53.0, "p95": 57.5, "max": 58}
    single = validate_pairs(pairs[:1], count_tokens=lambda ps: [40])
    assert single.token_stats == {"min": 40, "mean": 40.0, "p50": 40, "p95": 40, "max": 40}
    five = validate_pairs(
        [Pair(f"q{i}", f"SELECT {i}", i) for i in range(1, 6)], count_tokens=lambda ps: [10, 20, 30, 40, 100]
    )
    assert five.token_stats["p50"] == 30 and five.token_stats["p95"] == 88.0  # 40 + 0.8 x 60


def test_summary_tiles_count_rows_not_findings():
    # 2 findings per row: "2 statements", and "DROP statement changes data" once for both DROPs (each error once)
    rows = [Pair(f"drop {i}", "DROP TABLE a; DROP TABLE b", i) for i in range(1, 5)]
    report = validate_pairs(rows)
    assert len([f for f in report.findings if f.kind == "writes"]) == 8
    assert report.summary["writes"] == 4 and report.summary["errors"] == 4 and report.summary["rows"] == 4


def test_a_bare_word_is_not_a_statement():
    # sqlglot reads "SELEC" alone as a column name; without a schema nothing else would catch it
    assert kinds(validate_pairs([Pair("q", "SELEC", 1)]), 1) == {"invalid_sql"}


def test_checking_the_same_sql_against_the_same_schema_again_does_not_parse_it_again(monkeypatch):
    """A template, model or max-length change re-validates the file: its SQL findings come from the cache."""
    parsed = []
    check = validate.check_sql
    monkeypatch.setattr(validate, "check_sql", lambda sql, *a: parsed.append(sql) or check(sql, *a))
    pairs = [
        Pair("Total per region?", "SELECT region_id, SUM(amount) FROM sales GROUP BY region_id -- cache", 1),
        Pair("Bad column?", "SELECT colour FROM sales -- cache", 2),
    ]
    schema = parse_schema(DDL)
    first = validate_pairs(
        pairs, schema, "postgres", count_tokens=lambda ps: [10] * len(ps), max_seq_length=5
    )
    assert len(parsed) == 2
    again = validate_pairs(pairs, schema, "postgres", count_tokens=lambda ps: [3] * len(ps), max_seq_length=5)
    assert len(parsed) == 2  # nothing parsed again
    assert kinds(again, 2) == {"unknown_names"} and "too_long" in kinds(first, 1) and not kinds(again, 1)
    validate_pairs(pairs, schema, "sqlite")  # another dialect, or another schema, is checked afresh
    validate_pairs(pairs, parse_schema("CREATE TABLE sales (colour TEXT);"), "postgres")
    assert len(parsed) == 6


def test_queries_of_one_shape_are_parsed_once_and_keep_their_own_findings(monkeypatch):
    """SQL that differs only in its values and comments has the same findings, so it is parsed once per shape (a
    file of generated pairs repeats a few hundred shapes). Another name is another shape; parse errors, whose
    message names a column, are never shared."""
    parsed = []
    parse = sqlcheck.parse_tokens
    monkeypatch.setattr(
        sqlcheck, "parse_tokens", lambda tokens, sql, d: parsed.append(sql) or parse(tokens, sql, d)
    )
    same = [
        f"SELECT SUM(amount) FROM sales WHERE region_id = {i} AND name = 'r{i}' -- row {i}" for i in range(40)
    ]
    names = [
        "SELECT SUM(amount) FROM sales WHERE region_id = 1",
        "SELECT SUM(price) FROM sales WHERE region_id = 1",
    ]
    broken = ["SELECT 'a' amount FROM sales WHERE", "SELECT 'abcdef' amount FROM sales WHERE"]
    found = validate._check_here(same + names + broken, "postgres", parse_schema(DDL).lookup())
    assert len(parsed) == 1 + 2 + 2
    for sql in same + names + broken:  # the same findings as a check of that query alone
        assert found[sql] == validate.check_sql(sql, "postgres", parse_schema(DDL).lookup())
    assert {problem for _, _, problem, _ in found[same[0]]} == {
        "unknown column 'name' (not a column of sales)"
    }
    assert not found[names[0]] and found[names[1]]
    assert found[broken[0]] != found[broken[1]]  # each names its own column
    assert sqlcheck.sql_shape(
        sqlcheck.tokenize_sql("SELECT 1 FROM sales WHERE name IN ('a', 'b') AND x = 2", "postgres")
    ) == sqlcheck.sql_shape(
        sqlcheck.tokenize_sql("SELECT 7 FROM sales WHERE name IN ('c', 'd') AND x = 9", "postgres")
    )


# Queries alike but for a number or a string that is a name there, or that changes how the query parses (found by
# a review): each must keep its own findings.
NOT_VALUES = [
    (
        "sqlite",
        "SELECT amount 'total' FROM sales ORDER BY total",
        "SELECT amount 'totl' FROM sales ORDER BY total",
    ),
    (
        "mysql",
        "SELECT amount AS 'total' FROM sales ORDER BY total",
        "SELECT amount AS 'totl' FROM sales ORDER BY total",
    ),
    ("sqlite", "SELECT amount FROM sales, 'regions'", "SELECT amount FROM sales, 'nope'"),
    ("duckdb", "SELECT * FROM ('sales')", "SELECT * FROM ('nope')"),
    (
        "duckdb",
        "SELECT * FROM (SELECT 1 FROM sales WHERE x IN ('a')) AS s, 'sales'",
        "SELECT * FROM (SELECT 1 FROM sales WHERE x IN ('a')) AS s, 'nope'",
    ),
    (
        "postgres",
        "SELECT amount FROM sales WHERE sale_id > INTERVAL '1' bogus",
        "SELECT amount FROM sales WHERE sale_id > INTERVAL '2 day' bogus",
    ),
    ("postgres", "SELECT a.1 FROM sales a", "SELECT a.2 FROM sales a"),
    ("bigquery", "SELECT amount FROM sales-2023", "SELECT amount FROM sales-2024"),
]


@pytest.mark.parametrize(("dialect", "first", "second"), NOT_VALUES)
def test_a_number_or_string_in_a_names_place_keeps_its_own_findings(dialect, first, second):
    known = parse_schema(DDL).lookup()
    found = validate._check_here([first, second], dialect, known)
    assert found == {sql: validate.check_sql(sql, dialect, known) for sql in (first, second)}
    assert found[first] != found[second]


def test_duplicates_ignore_case_and_runs_of_whitespace_in_questions():
    pairs = [
        Pair("Total sales\tper  region?", "SELECT 1", 1),
        Pair(" total SALES per\nregion? ", "SELECT 1", 2),
        Pair("Total sales per regions?", "SELECT 1", 3),
    ]
    report = validate_pairs(pairs)
    assert kinds(report, 2) == {"duplicates"} and not kinds(report, 3)


def test_sql_checks_report_their_progress_in_the_callers_context(monkeypatch):
    """A 100,000-query file takes seconds: the Data tab shows "checking SQL: N of M". Gradio finds the page to
    update through context variables, so the checking thread must see the caller's."""
    import contextvars

    monkeypatch.setattr(validate, "CHUNK", 10)
    validate._FINDINGS.clear()
    page = contextvars.ContextVar("page", default=None)
    heard = []

    def validate_on_the_page():
        page.set("data tab")
        pairs = [Pair(f"q{i}", f"SELECT {i} AS n FROM sales -- progress", i + 1) for i in range(35)]
        validate_pairs(
            pairs, parse_schema(DDL), progress=lambda done, total: heard.append((page.get(), done, total))
        )

    contextvars.copy_context().run(validate_on_the_page)
    assert heard == [("data tab", 10, 35), ("data tab", 20, 35), ("data tab", 30, 35), ("data tab", 35, 35)]


def test_a_failing_token_count_is_reported_without_waiting_for_the_sql_checks(monkeypatch):
    import threading
    import time

    release = threading.Event()
    check_all = validate.check_all
    monkeypatch.setattr(validate, "check_all", lambda *a: release.wait(30) and check_all(*a))

    def bad_template(pairs):
        raise ValueError("The system prompt template has a stray brace")

    start = time.monotonic()
    try:
        with pytest.raises(ValueError, match="stray brace"):
            validate_pairs([Pair("q", "SELECT 1 -- slow check", 1)], count_tokens=bad_template)
        assert time.monotonic() - start < 10  # the checks are held for 30 s
    finally:
        release.set()


def test_a_row_with_a_missing_field_is_named_by_what_it_holds():
    """'row 2: SQL is missing' alone is hard to find in a spreadsheet: the finding quotes the row's question."""
    from core.data import validate_pairs

    pairs = [Pair("How many?", "SELECT 1", 1), Pair("Only a question", "", 2), Pair("", "SELECT 3", 3)]
    problems = {f.row: f.problem for f in validate_pairs(pairs).findings}
    assert problems[2] == 'SQL is missing or empty (its question: "Only a question")'
    assert problems[3] == 'question is missing or empty (its SQL: "SELECT 3")'
