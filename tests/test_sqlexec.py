"""Safe execution on DuckDB, SQLite and a real PostgreSQL server: writes never run, slow queries time out."""

import sqlite3
import time
from pathlib import Path

import pytest

from core.paths import SAMPLE_DATA, SAMPLE_SCHEMA
from core.sqlexec import NOT_EXECUTED, SYNTAX, TIMEOUT, UNKNOWN, open_database, redact

HOSTILE = [
    "DROP TABLE sales", "DELETE FROM sales", "UPDATE sales SET amount = 0", "INSERT INTO regions VALUES (99, 'x', 'y')",
    "SELECT 1; DELETE FROM sales", "SELECT * INTO stolen FROM sales", "CREATE TABLE x AS SELECT 1",
    "TRUNCATE sales", "ALTER TABLE sales DROP COLUMN amount", "COPY sales TO '/tmp/leak.csv'",
    "WITH d AS (DELETE FROM sales RETURNING *) SELECT * FROM d",
]
DUCKDB_ONLY = ["INSTALL httpfs", "LOAD httpfs", "ATTACH '/tmp/other.db' AS o", "SELECT * FROM read_csv('/etc/passwd')",
               "SELECT * FROM '/etc/passwd'", "PRAGMA enable_external_access", "SET enable_external_access = true"]


def counts(db) -> tuple:
    return tuple(db.execute(f"SELECT COUNT(*) FROM {t}").rows[0][0] for t in ("regions", "customers", "products", "sales"))


@pytest.fixture(scope="module")
def duck():
    return open_database("duckdb", SAMPLE_SCHEMA.read_text(), SAMPLE_DATA, timeout_s=2)


def test_duckdb_runs_reads_and_refuses_every_write(duck):
    before = counts(duck)
    assert before == (8, 60, 25, 600)
    for sql in HOSTILE + DUCKDB_ONLY:
        result = duck.execute(sql, "duckdb" if sql in DUCKDB_ONLY else "postgres")
        assert not result.ok, sql
    assert counts(duck) == before
    assert not Path("/tmp/leak.csv").exists()


def test_categories_and_timeout(duck):
    assert duck.execute("SELECT nope FROM sales").category == UNKNOWN
    assert duck.execute("SELECT * FROM nowhere").category == UNKNOWN
    assert duck.execute("SELEC 1").category == SYNTAX
    assert duck.execute("DROP TABLE sales").category == NOT_EXECUTED
    start = time.time()
    slow = duck.execute("SELECT COUNT(*) FROM sales a, sales b, sales c, sales d")
    assert slow.category == TIMEOUT and time.time() - start < 10


def test_row_cap_and_transpiling():
    db = open_database("duckdb", SAMPLE_SCHEMA.read_text(), SAMPLE_DATA, row_cap=10)
    result = db.execute("SELECT * FROM sales")
    assert result.ok and len(result.rows) == 10 and result.truncated
    assert db.execute("SELECT TOP 2 name FROM regions ORDER BY name", "tsql").rows == [("Andalusia",), ("Bavaria",)] or \
        len(db.execute("SELECT TOP 2 name FROM regions ORDER BY name", "tsql").rows) == 2


def test_sqlite_file_is_read_only(tmp_path):
    path = tmp_path / "shop.sqlite"
    con = sqlite3.connect(path)
    con.executescript(SAMPLE_SCHEMA.read_text() + SAMPLE_DATA.read_text())
    con.close()
    db = open_database(str(path), timeout_s=1)
    assert db.execute("SELECT COUNT(*) FROM sales").rows == [(600,)]
    for sql in HOSTILE:
        assert not db.execute(sql).ok, sql
    assert db.execute("SELECT COUNT(*) FROM sales").rows == [(600,)]
    slow = db.execute("SELECT COUNT(*) FROM sales a, sales b, sales c, sales d")
    assert slow.category == TIMEOUT


def test_passwords_are_redacted():
    assert redact("could not connect to postgresql://bob:s3cret@localhost/db") == \
        "could not connect to postgresql://bob:***@localhost/db"


def test_postgres_reads_refuses_writes_and_times_out(postgres):
    db = open_database(postgres, timeout_s=1)
    before = counts(db)
    assert before == (8, 60, 25, 600)
    for sql in HOSTILE + ["SELECT pg_read_file('/etc/passwd')", "SELECT lo_export(1, '/tmp/x')",
                          "COPY (SELECT 1) TO PROGRAM 'touch /tmp/pwned'"]:
        result = db.execute(sql)
        assert not result.ok, sql
    assert counts(db) == before and not Path("/tmp/pwned").exists()
    slow = db.execute("SELECT pg_sleep(5)")
    assert slow.category == TIMEOUT
    assert db.execute("SELECT nope FROM sales").category == UNKNOWN
    # a write hidden in a function call is stopped by the READ ONLY transaction itself
    hidden = db.execute("SELECT setval('no_such_seq', 1)")
    assert not hidden.ok


def test_postgres_password_never_in_errors(postgres):
    bad = postgres.replace("pw-not-logged", "wrong-password").replace("/shop", "/nodb")
    with pytest.raises(ConnectionError) as err:
        open_database(bad)
    assert "wrong-password" not in str(err.value)
