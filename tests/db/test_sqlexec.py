"""Safe execution on DuckDB, SQLite and a real PostgreSQL server: writes never run, slow queries time out."""

import datetime
import re
import sqlite3
import time
from decimal import Decimal
from pathlib import Path

import pytest

from core.db import NOT_EXECUTED, open_database
from core.db.execute import SYNTAX, TIMEOUT, UNKNOWN
from core.paths import SAMPLE_DATA, SAMPLE_SCHEMA
from core.redact import redact

HOSTILE = [
    "DROP TABLE sales",
    "DELETE FROM sales",
    "UPDATE sales SET amount = 0",
    "INSERT INTO regions VALUES (99, 'x', 'y')",
    "SELECT 1; DELETE FROM sales",
    "SELECT * INTO stolen FROM sales",
    "CREATE TABLE x AS SELECT 1",
    "TRUNCATE sales",
    "ALTER TABLE sales DROP COLUMN amount",
    "COPY sales TO '/tmp/leak.csv'",
    "WITH d AS (DELETE FROM sales RETURNING *) SELECT * FROM d",
]
DUCKDB_ONLY = [
    "INSTALL httpfs",
    "LOAD httpfs",
    "ATTACH '/tmp/other.db' AS o",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    "PRAGMA enable_external_access",
    "SET enable_external_access = true",
]


def counts(db) -> tuple:
    return tuple(
        db.execute(f"SELECT COUNT(*) FROM {t}").rows[0][0]
        for t in ("regions", "customers", "products", "sales")
    )


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
    assert (
        db.execute("SELECT TOP 2 name FROM regions ORDER BY name", "tsql").rows
        == [("Andalusia",), ("Bavaria",)]
        or len(db.execute("SELECT TOP 2 name FROM regions ORDER BY name", "tsql").rows) == 2
    )


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
    assert (
        redact("could not connect to postgresql://bob:s3cret@localhost/db")
        == "could not connect to postgresql://bob:***@localhost/db"
    )


def test_postgres_reads_refuses_writes_and_times_out(postgres):
    db = open_database(postgres, timeout_s=1)
    before = counts(db)
    assert before == (8, 60, 25, 600)
    for sql in HOSTILE + [
        "SELECT pg_read_file('/etc/passwd')",
        "SELECT lo_export(1, '/tmp/x')",
        "COPY (SELECT 1) TO PROGRAM 'touch /tmp/pwned'",
    ]:
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


# ---- injection-style payloads: in questions, and as "model-written" SQL. None may have any effect. ----

STACKED = [
    "SELECT 1; DROP TABLE sales",
    "SELECT 1;DELETE FROM sales;--",
    "SELECT name FROM regions; UPDATE sales SET amount = 0",
    "SELECT 1 /* ; */ ; DROP TABLE sales",
    "SELECT '1'; TRUNCATE sales; SELECT '",
    "; DROP TABLE sales; --",
    "SELECT 1 UNION SELECT 2; INSERT INTO regions VALUES (99, 'x', 'y')",
]


def test_injection_in_a_question_is_only_text(duck):
    """A question goes into the prompt, never into SQL: the gold SQL alone runs, and nothing changes."""
    from core.data import Pair
    from core.evaluate.evaluate import score

    before = counts(duck)
    question = "Robert'); DROP TABLE sales; -- how many regions?"
    pair = Pair(question, "SELECT COUNT(*) FROM regions", 1)
    gold = duck.execute(pair.sql)
    row = score(pair, "SELECT COUNT(*) FROM regions; DROP TABLE sales", gold, duck, "postgres")
    assert row.sql == "SELECT COUNT(*) FROM regions" and row.category == "correct"  # only the first statement
    row = score(pair, "DELETE FROM sales", gold, duck, "postgres")
    assert row.category == NOT_EXECUTED
    assert counts(duck) == before


@pytest.mark.parametrize("sql", STACKED)
def test_stacked_statements_never_run_on_duckdb(duck, sql):
    before = counts(duck)
    result = duck.execute(sql)
    assert not result.ok and result.category in (NOT_EXECUTED, SYNTAX), result
    assert counts(duck) == before


DUCKDB_FILE_ACCESS = [
    "COPY sales TO '{out}'",
    "COPY (SELECT * FROM sales) TO '{out}' (FORMAT csv)",
    "EXPORT DATABASE '{dir}'",
    "SELECT * FROM read_csv('{secret}')",
    "SELECT * FROM READ_CSV_AUTO('{secret}')",
    "SELECT * FROM read_text('{secret}')",
    "SELECT * FROM read_blob('{secret}')",
    "SELECT * FROM glob('{dir}/*')",
    "SELECT * FROM '{secret}'",
    "SELECT * FROM parquet_metadata('{secret}')",
    "SELECT * FROM read_ndjson_objects('{secret}')",
    "SELECT * FROM sniff_csv('{secret}')",
    "SELECT content FROM read_text('{secret}') UNION SELECT 'x'",
    "WITH x AS (SELECT * FROM read_csv('{secret}')) SELECT * FROM x",
    "SELECT (SELECT COUNT(*) FROM glob('{dir}/*'))",
    "ATTACH '{db}' AS other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "INSTALL sqlite FROM 'http://127.0.0.1:9/x'",
    "SET enable_external_access = true",
    "RESET enable_external_access",
    "PRAGMA enable_external_access",
    "SELECT * FROM duckdb_extensions() WHERE loaded",
    "CALL pragma_database_size()",
]


def test_duckdb_file_network_and_extension_payloads_have_no_effect(duck, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n")
    values = {"out": tmp_path / "leak.csv", "dir": tmp_path, "secret": secret, "db": tmp_path / "other.db"}
    for template in DUCKDB_FILE_ACCESS:
        result = duck.execute(template.format(**values), "duckdb")
        assert not result.ok or all("hunter2" not in str(r) for r in result.rows), template
        assert "hunter2" not in result.error
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "secret.csv"
    ]  # nothing written, exported or attached
    assert duck.con.execute("SELECT current_setting('enable_external_access')").fetchone()[0] is False
    assert not duck.con.execute(
        "SELECT COUNT(*) FROM duckdb_databases() WHERE database_name = 'other'"
    ).fetchone()[0]


def test_the_lockdown_holds_even_where_the_sql_check_would_let_a_call_through(tmp_path):
    """Defence in depth: the SQL check is bypassed on purpose; DuckDB itself must still refuse file access."""
    db = open_database("duckdb", SAMPLE_SCHEMA.read_text(), SAMPLE_DATA)
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n")
    for sql in (
        f"SELECT * FROM read_csv('{secret}')",
        f"COPY sales TO '{tmp_path / 'leak.csv'}'",
        "INSTALL httpfs",
    ):
        result = db._run(sql)  # noqa: SLF001 - straight to the database, no read_only_problem
        assert not result.ok and ("disabled" in result.error or "Permission" in result.error), result.error
    assert not (tmp_path / "leak.csv").exists()


POSTGRES_PAYLOADS = [
    *STACKED,
    "COPY (SELECT 1) TO PROGRAM 'touch {marker}'",
    "COPY sales TO PROGRAM 'touch {marker}'",
    "SELECT 1; COPY (SELECT 1) TO PROGRAM 'touch {marker}'",
    "COPY sales FROM PROGRAM 'touch {marker}'",
    "DO $$ BEGIN PERFORM pg_sleep(0); END $$",
    "CREATE EXTENSION IF NOT EXISTS dblink",
    "SET ROLE postgres",
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "SELECT pg_read_file('/etc/hostname')",
    "SELECT lo_import('/etc/hostname')",
    "SELECT * FROM dblink('dbname=shop', 'DELETE FROM sales') AS t(x int)",
    "SELECT pg_terminate_backend(pg_backend_pid())",
    "SELECT nextval('sales_sale_id_seq')",
    "SELECT pg_notify('c', 'x')",
    "SELECT pg_advisory_lock(42)",
    "SELECT PG_TRY_ADVISORY_LOCK(42)",
    "WITH d AS (DELETE FROM sales RETURNING *) SELECT COUNT(*) FROM d",
    "SELECT * FROM sales FOR UPDATE",
    "BEGIN; DELETE FROM sales; COMMIT",
    "SELECT pg_reload_conf()",
    "SELECT query_to_xml('DELETE FROM sales', true, true, '')",
]


def test_postgres_injection_payloads_have_no_effect(postgres, tmp_path):
    db = open_database(postgres, timeout_s=1)
    marker = Path("/tmp") / f"studio-pwned-{tmp_path.name}"
    before = counts(db)
    for template in POSTGRES_PAYLOADS:
        result = db.execute(template.format(marker=marker))
        assert not result.ok, template
    assert counts(db) == before and not marker.exists()
    assert db.execute("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory'").rows == [(0,)]
    # still usable, still read-only, still under the timeout
    assert db.execute("SELECT current_setting('transaction_read_only')").rows == [("on",)]
    start = time.time()
    for sleepy in (
        "SELECT pg_sleep(30)",
        "SELECT COUNT(*) FROM sales WHERE pg_sleep(30) IS NOT NULL",
        "SELECT pg_sleep_for('30 seconds')",
    ):
        assert db.execute(sleepy).category == TIMEOUT, sleepy
    assert time.time() - start < 15


CSV_DDL = """CREATE TABLE sales (sale_id INTEGER PRIMARY KEY, sale_date DATE NOT NULL, customer_id INTEGER,
                                 quantity INTEGER, amount NUMERIC(12, 2));
CREATE TABLE notes (note_id INTEGER, label TEXT, code VARCHAR(10));"""


def _csv_folder(folder: Path, rows: int) -> Path:
    """A sales table as a CSV: BOM, columns in another order than the table's."""
    lines = ["\ufeffamount,sale_id,sale_date,customer_id,quantity"]
    lines += [
        f"{i % 997}.25,{i},2024-0{1 + i % 9}-1{i % 10},{1 + i % 50},{1 + i % 5}" for i in range(1, rows + 1)
    ]
    (folder / "sales.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_csv_folder_loads_with_duckdbs_reader(tmp_path):
    (tmp_path / "notes.csv").write_text(
        '\ufeffnote_id,label,code\n1,"North, upper","O""Neil\nland"\n2,,007\n'
    )
    start = time.perf_counter()
    db = open_database("duckdb", CSV_DDL, _csv_folder(tmp_path, 50_000), timeout_s=5)
    seconds = time.perf_counter() - start
    assert seconds < 10, f"50,000 CSV rows took {seconds:.1f} s"  # csv.reader + executemany took ~38 s
    assert db.execute("SELECT COUNT(*), SUM(quantity), MIN(sale_date), MAX(amount) FROM sales").rows == [
        (50_000, sum(1 + i % 5 for i in range(1, 50_001)), datetime.date(2024, 1, 10), Decimal("996.25"))
    ]
    # BOM skipped, quoted comma, doubled quote and newline kept, empty cell NULL, text not guessed as a number
    assert db.execute("SELECT * FROM notes ORDER BY note_id").rows == [
        (1, "North, upper", 'O"Neil\nland'),
        (2, None, "007"),
    ]
    (tmp_path / "notes.csv").write_text("note_id,colour\n1,red\n")
    with pytest.raises(ValueError, match=r"notes.csv: cannot be loaded into the table notes .*colour"):
        open_database("duckdb", CSV_DDL, tmp_path)


def test_postgres_sends_begin_read_only_and_rolls_back_every_statement(postgres, tmp_path):
    """What reaches the server for one query (libpq's protocol trace): BEGIN READ ONLY, the query, ROLLBACK, and
    nothing else; a write that got past the SQL guard is refused by the server itself."""
    db = open_database(postgres, timeout_s=2)
    trace = tmp_path / "libpq.trace"
    with open(trace, "w") as f:
        db.con.pgconn.trace(f.fileno())
        assert db.execute("SELECT COUNT(*) FROM regions").rows == [(8,)]
        db.con.pgconn.untrace()
    sent = re.findall(r'\tF\t\d+\tQuery\t "(.*)"$', trace.read_text(), re.M)
    assert sent == ["BEGIN READ ONLY", "SELECT COUNT(*) FROM regions", "ROLLBACK"], sent
    refused = db._run("INSERT INTO regions VALUES (99, 'x', 'y')")  # noqa: SLF001 - bypass the guard on purpose
    assert not refused.ok and "read-only transaction" in refused.error
    assert counts(db)[0] == 8
    assert db.execute("SELECT current_setting('statement_timeout')").rows == [("2s",)]
