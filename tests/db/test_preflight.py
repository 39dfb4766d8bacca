"""Pre-flight: every pair's SQL runs on the connected database; failures carry the database's own message, empty
results and slow queries are flagged, writes are refused before execution, and what runs is never an error."""

from core.data import Pair, parse_schema, validate_pairs
from core.db import connect, merge_preflight, preflight, preflight_summary
from core.db.preflight import EMPTY, FAILS, RUNS, SKIPPED, TIMED_OUT
from tests.db_samples import sample_sqlite, sqlite_file

SLOW_SQLITE = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
    "SELECT COUNT(*) FROM n"
)


def test_outcomes_on_sqlite_carry_the_database_message(tmp_path):
    db = connect(str(sample_sqlite(tmp_path)), timeout_s=0.5)
    pairs = [
        Pair("all regions", "SELECT name FROM regions", 1),
        Pair("a typo", "SELECT nme FROM regions", 2),
        Pair("nothing", "SELECT name FROM regions WHERE country = 'Atlantis'", 3),
        Pair("slow", SLOW_SQLITE, 4),
        Pair("a write", "DELETE FROM sales", 5),
        Pair("no sql", "", 6),
    ]
    outcomes = {o.row: o for o in preflight(pairs, db, "sqlite")}
    assert outcomes[1].status == RUNS and outcomes[1].rows == 8
    assert outcomes[2].status == FAILS and "no such column: nme" in outcomes[2].message  # SQLite's own words
    assert outcomes[3].status == EMPTY
    assert outcomes[4].status == TIMED_OUT
    assert outcomes[5].status == SKIPPED and outcomes[6].status == SKIPPED
    assert db.con.execute("SELECT COUNT(*) FROM sales").fetchone() == (600,)  # nothing was deleted
    assert preflight_summary(list(outcomes.values())).startswith("2 of 6 run on your database")


def test_report_merge_excludes_failures_and_downgrades_what_runs(tmp_path):
    """SQLite reads "Live final" (a double-quoted name that is no column) as a string: the query runs, so the static
    'unknown column' error becomes a warning with the portable spelling."""
    path = sqlite_file(
        tmp_path / "music.sqlite",
        "CREATE TABLE performance (id INT, type TEXT);"
        "CREATE TABLE extra (id INT); INSERT INTO extra VALUES (1);"
        "INSERT INTO performance VALUES (1, 'Live final'), (2, 'Studio');",
    )
    db = connect(str(path))
    pairs = [
        Pair("how many not live finals", 'SELECT COUNT(*) FROM performance WHERE type != "Live final"', 1),
        Pair("bad column", "SELECT kind FROM performance", 2),
        Pair("fine", "SELECT id FROM performance", 3),
        Pair("a table the pasted schema lacks", "SELECT COUNT(*) FROM extra", 4),
    ]
    schema = parse_schema("CREATE TABLE performance (id INT, type TEXT);", "sqlite")  # the user's partial DDL
    static = validate_pairs(pairs, schema, "sqlite")
    assert {2, 4} <= static.error_rows  # without the database these are errors
    merged = merge_preflight(static, pairs, preflight(pairs, db, "sqlite"))
    assert merged.error_rows == {2}
    for row in (1, 4):  # they ran: never an error, at most a warning that explains
        assert all(f.severity == "warning" for f in merged.findings if f.row == row)
    row4 = [f for f in merged.findings if f.row == 4]
    assert row4 and "runs on your database" in row4[0].problem
    row1 = [f for f in merged.findings if f.row == 1 and f.kind == "unknown_names"]
    assert all(
        "single quotes" in f.fix for f in row1
    )  # when the static check flags "Live final", say how to write it
    row2 = [f.problem for f in merged.findings if f.row == 2 and f.kind == "db_errors"]
    assert row2 and "no such column: kind" in row2[0]
    assert merged.summary["trainable"] == 3 and merged.summary["db_errors"] == 1
    assert merged.preflight == "3 of 4 run on your database (1 fail)"
    assert "3 of 4 run on your database" in merged.as_text()


def test_postgres_timeout_and_message(postgres):
    db = connect(postgres, timeout_s=0.5)
    pairs = [
        Pair("sleep", "SELECT pg_sleep(3)", 1),
        Pair("typo", "SELECT amout FROM sales", 2),
        Pair("ok", "SELECT COUNT(*) FROM sales", 3),
        Pair("drop", "DROP TABLE sales", 4),
    ]
    outcomes = {o.row: o for o in preflight(pairs, db, "postgres")}
    assert outcomes[1].status == TIMED_OUT
    assert outcomes[2].status == FAILS and 'column "amout" does not exist' in outcomes[2].message
    assert outcomes[3].status == RUNS and outcomes[4].status == SKIPPED
    assert db.execute("SELECT COUNT(*) FROM sales", "postgres").rows == [(600,)]


def test_the_cache_runs_each_sql_once(tmp_path):
    db = connect(str(sample_sqlite(tmp_path)))
    calls = []
    original = db.execute
    db.execute = lambda sql, dialect: calls.append(sql) or original(sql, dialect)
    cache: dict = {}
    pairs = [Pair(f"q{i}", "SELECT COUNT(*) FROM sales", i) for i in range(1, 6)]
    first = preflight(pairs, db, "sqlite", cache=cache)
    preflight(pairs, db, "sqlite", cache=cache)
    assert len(calls) == 1 and [o.row for o in first] == [1, 2, 3, 4, 5]
