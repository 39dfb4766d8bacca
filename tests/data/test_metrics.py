"""Execution-match metrics and SQL extraction from messy model output."""

import datetime
import decimal

import pytest

from core.data.metrics import extract_sql, has_order_by, normalise_sql, parses, results_match


@pytest.mark.parametrize(
    "answer,sql",
    [
        ("SELECT 1", "SELECT 1"),
        ("```sql\nSELECT name FROM t\n```", "SELECT name FROM t"),
        ("Here is the query:\n```\nSELECT a FROM t;\n```\nIt lists a.", "SELECT a FROM t"),
        ("Sure! The answer is SELECT COUNT(*) FROM sales; This counts rows.", "SELECT COUNT(*) FROM sales"),
        ("SELECT x FROM t<|im_end|>garbage", "SELECT x FROM t"),
        ("SELECT a\nFROM t\nWHERE b = 1\n\nExplanation: filters b", "SELECT a\nFROM t\nWHERE b = 1"),
        ("with x as (select 1) select * from x", "with x as (select 1) select * from x"),
        ("I don't know", "I don't know"),
        ("", ""),
    ],
)
def test_extract_sql(answer, sql):
    assert extract_sql(answer) == sql


def test_order_matters_only_with_order_by():
    assert results_match([(1,), (2,)], [(2,), (1,)], ordered=False)
    assert not results_match([(1,), (2,)], [(2,), (1,)], ordered=True)
    assert has_order_by("SELECT a FROM t ORDER BY a") and not has_order_by(
        "SELECT a FROM (SELECT a FROM t ORDER BY a) s"
    )


def test_duplicates_count_as_a_multiset():
    assert not results_match([(1,), (1,)], [(1,)], ordered=False)
    assert results_match([(1,), (1,), (2,)], [(2,), (1,), (1,)], ordered=False)


def test_nulls_floats_decimals_and_dates():
    assert results_match([(None, 1)], [(None, 1)], ordered=True)
    assert not results_match([(None,)], [(0,)], ordered=True)
    assert results_match([(decimal.Decimal("10.50"),)], [(10.5000001,)], ordered=True)
    assert not results_match([(10.5,)], [(10.6,)], ordered=True)
    assert results_match([(1,)], [(1.0,)], ordered=True) and results_match([(True,)], [(1,)], ordered=True)
    assert results_match([(datetime.date(2024, 3, 1),)], [("2024-03-01",)], ordered=True)
    assert results_match([(123456789.0,)], [(123456789.0000004,)], ordered=True)


def test_column_names_are_ignored_but_empty_results_are_compared():
    assert results_match([("North", 3)], [("North", 3)], ordered=False)  # the rows carry no names at all
    assert results_match([], [], ordered=False)
    assert not results_match([], [(1,)], ordered=False)


def test_exact_match_normalises_case_and_spacing():
    assert normalise_sql("select  A from T where b=1") == normalise_sql("SELECT a FROM t WHERE b = 1")
    assert normalise_sql("SELECT a AS total FROM t") != normalise_sql("SELECT a FROM t")
    assert parses("SELECT 1") and not parses("SELEC 1") and not parses("")


def test_exact_match_keeps_the_case_of_literals():
    # 'Paris' and 'PARIS' are different queries (different rows on a case-sensitive comparison)
    assert normalise_sql("SELECT id FROM cities WHERE name = 'Paris'") != normalise_sql(
        "SELECT id FROM cities WHERE name = 'PARIS'"
    )
    assert normalise_sql("SELECT Id FROM Cities WHERE Name = 'Paris'") == normalise_sql(
        "select id from cities where name = 'Paris'"
    )


def test_exact_match_normalises_identifiers_as_the_dialect_does():
    # postgres: a quoted name keeps its case ("Name" is another column than name); sqlite ignores case, quoted or not
    assert normalise_sql('SELECT "Name" FROM t', "postgres") != normalise_sql(
        "SELECT name FROM t", "postgres"
    )
    assert normalise_sql('SELECT "Name" FROM t', "sqlite") == normalise_sql("SELECT name FROM t", "sqlite")
    assert normalise_sql("SELECT strftime('%Y', d) FROM T", "sqlite") == normalise_sql(
        "SELECT STRFTIME('%Y', d) FROM t", "sqlite"
    )
    assert normalise_sql("SELECT strftime('%Y', d) FROM t", "sqlite") != normalise_sql(
        "SELECT strftime('%y', d) FROM t", "sqlite"
    )
