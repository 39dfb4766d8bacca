"""Error texts speak the user's language: a SQL that does not parse is described in plain words (incomplete condition
after AND, unexpected 'x', unbalanced parentheses, unterminated string) with its line and column, never with the
parser's internals, and each error is reported once per row, with or without a connected database."""

import pytest

from core.data import Pair, parse_problem, parse_schema, parse_sql, validate_pairs
from core.data.schema import SchemaError
from core.db import connect, merge_preflight, preflight
from core.db.execute import read_only_problem
from tests.db_samples import sqlite_file

INTERNALS = ("sqlglot", "<class", "<Token", "TokenType", "Required keyword", "\x1b", "TypeError", "Col:")
SCHEMA = "CREATE TABLE t (a INT, b TEXT);"


def problems(sql: str, dialect: str = "postgres") -> list[str]:
    report = validate_pairs([Pair("q", sql, 1)], parse_schema(SCHEMA, dialect), dialect)
    return [f.problem for f in report.findings]


def plain(text: str) -> bool:
    return not any(word in text for word in INTERNALS)


@pytest.mark.parametrize(
    "sql, words",
    [
        ("SELECT * FROM t WHERE a = 1 AND", "incomplete condition after AND near line 1, column 29"),
        ("SELECT * FROM t WHERE a = 1 OR", "incomplete condition after OR near line 1, column 29"),
        (
            "SELECT a FROM t WHERE a = 1 AND\n  b = 'x' AND",
            "incomplete condition after AND near line 2, column 11",
        ),
        ("SELECT * FROM t WHERE a =", "incomplete comparison: nothing to compare with after ="),
        ("SELECT a FROM t t2 t3", "unexpected 't3' near line 1, column 20"),
        ("SELECT count(a FROM t", "unbalanced parentheses: a '(' is not closed"),
        ("SELECT a FROM t)", "unbalanced parentheses: a ')' without its '('"),
        ("SELECT a FROM t WHERE b = 'abc", "unterminated string starting near line 1, column 27"),
        ('SELECT "a FROM t', "unterminated quoted name"),
        ("SELECT a /* note FROM t", "unterminated comment"),
        ("SELECT * FROM t WHERE", "WHERE without a condition"),
        ("SELECT a FROM t ORDER BY", "ORDER BY without anything to sort by"),
        ("SELECT CASE WHEN a = 1 THEN 'x' FROM t", "CASE without END"),
        ("SELECT * FROM", "expected table name but got the end of the SQL"),
        (
            "SELECT a ? FROM t",
            "the SQL parser cannot read this text",
        ),  # sqlglot crashes (TypeError) on this one
    ],
)
def test_parse_errors_in_plain_words(sql, words):
    found = problems(sql)
    assert (
        len(found) == 1 and words in found[0] and found[0].startswith("does not parse as postgres SQL: ")
    ), found
    assert plain(found[0]), found[0]


def test_incomplete_and_has_a_fix_that_says_what_to_do():
    report = validate_pairs([Pair("q", "SELECT * FROM t WHERE a = 1 AND", 1)], parse_schema(SCHEMA), "sqlite")
    (finding,) = report.findings
    assert "incomplete condition after AND" in finding.problem and "sqlglot" not in finding.problem
    assert (
        "<class" not in finding.problem and finding.fix == "finish the condition after AND, or remove the AND"
    )


def test_no_parser_internals_whatever_the_broken_sql():
    broken = [
        "SELECT",
        "SELECT a FROM t WHERE a IN (1, 2",
        "SELECT a + FROM t",
        "SELECT CAST(a AS) FROM t",
        "WITH x AS SELECT 1",
        "SELECT a FROM t UNION",
        "SELECT a FROM t LIMIT",
        "SELECT a FROM t WHERE NOT",
        "SELECT a FROM t WHERE a BETWEEN 1",
        "SELECT a FROM t JOIN",
        "SELECT 'it''s",
        "SELECT [a FROM t",
        "SELECT `a FROM t",
        "SELECT $$a",
        "))((",
        "SELECT a FROM t WHERE a LIKE",
        "SELECT * FROM t WHERE a = = 1",
    ]
    for dialect in ("postgres", "sqlite", "mysql", "duckdb", "tsql"):
        for sql in broken:
            for text in problems(sql, dialect):
                assert plain(text), (dialect, sql, text)
            try:
                parse_sql(sql, dialect)
            except Exception as e:  # noqa: BLE001 - whatever it raises, the words for it are plain
                assert all(plain(part) for part in parse_problem(e)), (dialect, sql, parse_problem(e))


def test_each_error_once_per_row_with_a_database(tmp_path):
    """A SQL that does not parse is not also 'fails on your database: does not parse ...'; two DROPs are one finding."""
    db = connect(str(sqlite_file(tmp_path / "t.sqlite", SCHEMA + "INSERT INTO t VALUES (1, 'x');")))
    pairs = [
        Pair("broken", "SELECT * FROM t WHERE a = 1 AND", 1),
        Pair("drops", "DROP TABLE t; DROP TABLE t", 2),
        Pair("fine", "SELECT a FROM t", 3),
    ]
    static = validate_pairs(pairs, parse_schema(SCHEMA, "sqlite"), "sqlite")
    merged = merge_preflight(static, pairs, preflight(pairs, db, "sqlite"))
    row1 = [f.problem for f in merged.findings if f.row == 1]
    assert len(row1) == 1 and "incomplete condition after AND" in row1[0], row1
    row2 = [f.problem for f in merged.findings if f.row == 2]
    assert len(row2) == len(set(row2)) == 2, (
        row2
    )  # "2 statements" and "DROP statement changes data", once each
    assert merged.summary["db_errors"] == 0 and merged.preflight == "1 of 3 run on your database (2 not run)"


def test_the_sql_guard_and_the_schema_say_it_the_same_way():
    category, reason = read_only_problem("SELECT * FROM t WHERE a = 1 AND", "postgres")
    assert reason == "does not parse: incomplete condition after AND near line 1, column 29"
    with pytest.raises(SchemaError) as bad:
        parse_schema("CREATE TABLE t (a INT,\n  b TEXT", "postgres")
    assert "unbalanced parentheses" in str(bad.value) and "line 2" in str(bad.value) and plain(str(bad.value))


def test_the_how_to_fix_column_has_its_share_of_the_findings_table():
    """Without set widths the problem column took the whole table and pushed "how to fix" out of sight (seen in
    Chromium at 1280 px: the column began 200 px right of the table's edge)."""
    import gradio as gr

    from app import data_tab

    with gr.Blocks():
        findings = data_tab.build_data_tab()["findings"]
    widths = dict(zip(data_tab.FINDING_HEADERS, findings.column_widths, strict=True))
    assert (
        sum(float(w.rstrip("%")) for w in widths.values()) == 100 and float(widths["how to fix"][:-1]) >= 25
    )
