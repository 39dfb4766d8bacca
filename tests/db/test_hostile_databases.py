"""Hostile databases get a sentence, not a traceback: each case goes through the command line (`generate --db` and
`validate --db`), which exits 2 with one line that names the source and says what to do, or works (200 tables,
reserved words and non-ASCII names, a 1,000,000-row table). The Data tab shows the same sentence. Nothing is ever
written to the user's database."""

import hashlib
import json
import sqlite3
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app import db_panel
from core import cli
from core.db import connect, introspect
from tests.app.test_app_handlers import Upload
from tests.db_samples import (
    LIBRARY,
    library_duckdb,
    library_rows,
    library_sqlite,
    postgres_schema,
    sqlite_file,
)

PAIRS = [
    {"question": "How many books are there?", "sql": "SELECT COUNT(*) FROM books"},
    {"question": "Which titles are poetry?", "sql": "SELECT title FROM books WHERE genre = 'Poetry'"},
]


def pairs_file(folder: Path, pairs: list[dict] = PAIRS) -> Path:
    path = folder / "pairs.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in pairs), encoding="utf-8")
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, tmp_path, source: str, *words: str) -> str:
    """generate and validate both exit 2 with one line on stderr that names the source and holds `words`."""
    said = []
    for argv in (
        ("generate", "--db", source, "--n", "20", "--out", str(tmp_path / "out.jsonl")),
        ("validate", str(pairs_file(tmp_path)), "--db", source),
    ):
        code, _, err = run(capsys, *argv)
        assert code == 2, (argv, err)
        assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
        for word in words:
            assert word in err, (word, err)
        said.append(err)
    return said[0]


def truncated_sqlite(folder: Path, keep: int) -> Path:
    whole = library_sqlite(folder).read_bytes()
    path = folder / "truncated.sqlite"
    path.write_bytes(whole[:keep] if keep > 0 else whole[: len(whole) // 2])
    return path


# ---- files that are no (readable) database ----


@pytest.mark.parametrize("keep", [100, 4096, -1], ids=["header", "first-page", "half"])
def test_a_truncated_sqlite_file(tmp_path, capsys, keep):
    refused(
        capsys,
        tmp_path,
        str(truncated_sqlite(tmp_path, keep)),
        "truncated.sqlite",
        "damaged or incomplete",
        "Copy or upload it again",
    )


@pytest.mark.parametrize(
    "name, content",
    [
        ("notes.sqlite", b"just some notes, not a database\n" * 20),
        ("blob.db", bytes(range(256)) * 16),
        ("fake.duckdb", b"SQLite format 2\x00" + b"\x01" * 500),
    ],
)
def test_a_file_with_a_database_extension_that_is_no_database(tmp_path, capsys, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    refused(
        capsys, tmp_path, str(path), name, "not a SQLite or DuckDB database", "Pick the database file itself"
    )


@pytest.mark.parametrize("name", ["empty.sqlite", "empty.duckdb", "empty.db"])
def test_an_empty_file(tmp_path, capsys, name):
    path = tmp_path / name
    path.write_bytes(b"")
    refused(capsys, tmp_path, str(path), name, "the file is empty (0 bytes)")


def _duckdb_checksum(block: bytes) -> int:
    """DuckDB's checksum of a header block (every 8 bytes multiplied and xor-ed), to bump a version consistently."""
    result = 5381
    for (word,) in struct.iter_unpack("<Q", block[: len(block) // 8 * 8]):
        result ^= (word * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    return result


def test_a_duckdb_file_the_installed_duckdb_cannot_read(tmp_path, capsys):
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_bytes(b"\x00" * 8 + b"DUCK" + bytes(range(256)) * 40)  # DuckDB's magic bytes, then garbage
    refused(capsys, tmp_path, str(garbage), "DuckDB file garbage.duckdb", "damaged or incomplete")
    # a storage version from the future: the version number sits after the magic bytes, under the header's checksum
    header = bytearray(library_duckdb(tmp_path).read_bytes())
    header[12:20] = (5000).to_bytes(8, "little")
    header[:8] = struct.pack("<Q", _duckdb_checksum(bytes(header[8:4096])))
    future = tmp_path / "future.duckdb"
    future.write_bytes(bytes(header))
    err = refused(capsys, tmp_path, str(future), "DuckDB file future.duckdb")
    assert "cannot read" in err or "damaged" in err  # "damaged" if a DuckDB computes its checksum otherwise


# ---- locks ----


def test_a_sqlite_database_locked_by_a_writer(tmp_path, capsys):
    path = library_sqlite(tmp_path)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")  # what a program in the middle of a big write holds
    writer.execute("DELETE FROM archive")
    try:
        refused(
            capsys, tmp_path, str(path), "library.sqlite", "another program is writing to it", "Wait until"
        )
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert run(capsys, "generate", "--db", str(path), "--n", "20", "--out", str(tmp_path / "o.jsonl"))[0] == 0


def test_a_duckdb_file_held_open_for_writing_by_another_program(tmp_path, capsys):
    path = library_duckdb(tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
            "print('ready', flush=True); sys.stdin.read()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        refused(
            capsys,
            tmp_path,
            str(path),
            "DuckDB file library.duckdb",
            "another program has it open for writing",
        )
    finally:
        holder.communicate("", timeout=30)


# ---- PostgreSQL ----


def test_postgres_with_a_wrong_password(postgres, tmp_path, capsys):
    bad = postgres.replace("pw-not-logged", "wrong-secret")
    err = refused(
        capsys,
        tmp_path,
        bad,
        "Could not connect to PostgreSQL postgresql://studio:***@127.0.0.1",
        "password authentication failed",
        "Check the user name and password",
    )
    assert "wrong-secret" not in err


def test_postgres_on_an_unreachable_host(postgres, tmp_path, capsys):
    from tests.conftest import free_port

    closed = f"postgresql://studio:pw-not-logged@127.0.0.1:{free_port()}/shop"  # nothing listens there
    err = refused(
        capsys,
        tmp_path,
        closed,
        "Could not connect to PostgreSQL postgresql://studio:***@127.0.0.1",
        "Check the host and port",
    )
    assert "pw-not-logged" not in err


def test_postgres_statements_past_the_timeout(postgres, tmp_path, capsys, monkeypatch):
    """The pre-flight reports a slow pair as a warning; introspection names a table that does not answer in time
    and goes on; a catalog query past the timeout is one sentence. Nothing waits longer than the timeout."""
    pairs = pairs_file(
        tmp_path,
        [
            {"question": "Wait", "sql": "SELECT pg_sleep(30)"},
            {"question": "How many sales?", "sql": "SELECT COUNT(*) FROM sales"},
        ],
    )
    start = time.perf_counter()
    code, out, _ = run(capsys, "validate", str(pairs), "--db", postgres)
    assert code == 0 and "1 of 2 run on PostgreSQL" in out and "(1 time out)" in out
    assert "row 1 [warning] sql: did not finish on PostgreSQL (timeout: stopped after 2 s)" in out

    url = postgres_schema(
        postgres,
        "hostile_slow",
        LIBRARY + library_rows() + "CREATE VIEW slow_view AS SELECT pg_sleep(30)::text AS waited;",
    )
    code, out, err = run(capsys, "generate", "--db", url, "--n", "20", "--out", str(tmp_path / "o.jsonl"))
    assert code == 0, err
    assert "note: table slow_view: reading its first rows took too long (timeout: stopped after 2 s)" in out

    only_slow = postgres_schema(
        postgres, "hostile_only_slow", "CREATE VIEW slow_view AS SELECT pg_sleep(30)::text;"
    )
    code, _, err = run(capsys, "generate", "--db", only_slow, "--n", "20", "--out", str(tmp_path / "o.jsonl"))
    assert code == 2 and err.count("\n") == 1, err  # nothing could be read: one sentence, not an empty schema
    assert (
        "none of the tables tried could be read (1 of 1; table slow_view: reading its first rows took too long"
        in err
    )

    # a catalog that does not answer (the module, not core.db's function of the same name)
    monkeypatch.setattr(
        sys.modules["core.db.introspect"],
        "_PG_KEYS",
        "SELECT 'p', 'x', ARRAY['a'], NULL, ARRAY['a'] FROM pg_sleep(30)",
    )
    err = refused(
        capsys,
        tmp_path,
        url,
        "PostgreSQL postgresql://studio:***@127.0.0.1",
        "reading its list of tables took longer than 2 s and was stopped",
        "try again later",
    )
    assert time.perf_counter() - start < 60


# ---- big and odd databases work ----


def test_a_broken_view_is_left_out_and_the_rest_works(tmp_path, capsys):
    path = library_sqlite(tmp_path)
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE gone (x INTEGER); CREATE VIEW stale AS SELECT x FROM gone; DROP TABLE gone;"
    )
    con.close()
    code, out, err = run(
        capsys, "generate", "--db", str(path), "--n", "30", "--out", str(tmp_path / "o.jsonl")
    )
    assert code == 0, err
    assert "note: view stale: left out, SQLite cannot read its columns (no such table: main.gone)" in out


def test_200_tables(tmp_path, capsys):
    script = "".join(
        f"CREATE TABLE t{i} (t{i}_id INTEGER PRIMARY KEY, name TEXT, t{i - 1}_id INTEGER);"
        f"INSERT INTO t{i} VALUES (1, 'x{i}', 1), (2, 'y{i}', 1);"
        for i in range(1, 201)
    )
    path = sqlite_file(tmp_path / "wide.sqlite", script)
    out_file = tmp_path / "wide.jsonl"
    start = time.perf_counter()
    code, out, err = run(capsys, "generate", "--db", str(path), "--n", "100", "--out", str(out_file))
    assert code == 0 and out.startswith("100 pairs"), err
    code, out, err = run(capsys, "validate", str(out_file), "--db", str(path))
    assert code == 0 and "100 of 100 run on SQLite file wide.sqlite" in out, out + err
    assert time.perf_counter() - start < 60


ODD_NAMES = """
CREATE TABLE "order" ("group" TEXT, "select" INTEGER, "unit price" REAL, "from" TEXT);
CREATE TABLE "Größe" ("größe_id" INTEGER PRIMARY KEY, "maß" TEXT, "wert" REAL);
CREATE TABLE "顧客" ("顧客_id" INTEGER PRIMARY KEY, "名前" TEXT, "都市" TEXT);
CREATE TABLE "注文" ("注文_id" INTEGER PRIMARY KEY, "顧客_id" INTEGER REFERENCES "顧客" ("顧客_id"), "金額" REAL,
                   "état" TEXT);
"""


def test_reserved_words_and_non_ascii_names(tmp_path, capsys):
    path = sqlite_file(tmp_path / "odd names.sqlite", ODD_NAMES)
    cities = ["東京", "Zürich", "São Paulo", "Kraków"]
    con = sqlite3.connect(path)
    for i in range(1, 61):
        con.execute('INSERT INTO "order" VALUES (?, ?, ?, ?)', ("abc"[i % 3], i, i * 1.5, cities[i % 4]))
        con.execute('INSERT INTO "Größe" VALUES (?, ?, ?)', (i, ["klein", "groß", "mittel"][i % 3], i / 3))
        con.execute('INSERT INTO "顧客" VALUES (?, ?, ?)', (i, f"客{i}", cities[i % 4]))
        con.execute(
            'INSERT INTO "注文" VALUES (?, ?, ?, ?)', (i, 1 + i % 20, i * 10.0, ["ouvert", "fermé"][i % 2])
        )
    con.commit()
    con.close()
    out_file = tmp_path / "odd.jsonl"
    code, out, err = run(capsys, "generate", "--db", str(path), "--n", "80", "--out", str(out_file))
    assert code == 0, err
    sql = "\n".join(json.loads(line)["sql"] for line in out_file.read_text(encoding="utf-8").splitlines())
    for name in ('"order"', '"group"', '"Größe"', '"顧客"', '"名前"', '"金額"'):
        assert name in sql, name
    code, out, err = run(capsys, "validate", str(out_file), "--db", str(path))
    assert code == 0 and "80 of 80 run on SQLite file" in out, out + err


def test_a_million_row_table(tmp_path, capsys):
    """1,000,000 rows: built in about 2 s, generation and validation stay within seconds (counts, LIMITed samples,
    the generator's scan budget); docs/BENCHMARKS.md measures it at scale."""
    path = tmp_path / "big.sqlite"
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE events (event_id INTEGER PRIMARY KEY, kind TEXT, amount REAL, city TEXT, day TEXT)"
    )
    kinds, cities = ["view", "click", "buy", "refund"], ["Lyon", "Osaka", "Quito", "Turin", "Lagos"]
    con.executemany(
        "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
        (
            (i, kinds[i % 4], (i * 37) % 1000 / 10, cities[i % 5], f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}")
            for i in range(1_000_000)
        ),
    )
    con.commit()
    con.close()
    out_file = tmp_path / "big.jsonl"
    start = time.perf_counter()
    code, out, err = run(capsys, "generate", "--db", str(path), "--n", "40", "--out", str(out_file))
    assert code == 0 and out.startswith("40 pairs"), err
    code, out, err = run(capsys, "validate", str(out_file), "--db", str(path))
    assert code == 0 and "40 of 40 run on SQLite file" in out, out + err
    assert time.perf_counter() - start < 60


# ---- nothing is written ----


def _state(path: Path) -> tuple:
    """The file's bytes and modification time, and every file beside it (no journal, WAL or lock file appears)."""
    return (
        hashlib.sha256(path.read_bytes()).hexdigest(),
        path.stat().st_mtime_ns,
        sorted(p.name for p in path.parent.iterdir()),
    )


@pytest.mark.parametrize("make", [library_sqlite, library_duckdb], ids=["sqlite", "duckdb"])
def test_nothing_is_written_to_the_database(tmp_path, capsys, make):
    folder = tmp_path / "db"
    folder.mkdir()
    path = make(folder)
    before = _state(path)
    time.sleep(0.01)  # a write now would show in the modification time
    assert introspect(connect(str(path))).table("books").rows == 40
    out_file = tmp_path / "generated.jsonl"
    assert run(capsys, "generate", "--db", str(path), "--n", "60", "--out", str(out_file))[0] == 0
    assert run(capsys, "validate", str(out_file), "--db", str(path))[0] == 0
    # writes the studio refuses, and one that would slip through its guard: the file is opened read-only
    writes = pairs_file(
        tmp_path,
        [
            {"question": "Drop it", "sql": "DROP TABLE books"},
            {"question": "Empty it", "sql": "DELETE FROM loans"},
        ],
    )
    assert run(capsys, "validate", str(writes), "--db", str(path))[0] == 1
    with pytest.raises(Exception, match="(?i)read-only|readonly"):
        connect(str(path)).con.execute("DELETE FROM loans")
    assert _state(path) == before


# ---- the Data tab shows the sentence ----


@pytest.mark.parametrize("name", ["truncated.sqlite", "empty.sqlite"])
def test_the_data_tab_shows_the_sentence(tmp_path, name):
    path = truncated_sqlite(tmp_path, -1) if name == "truncated.sqlite" else tmp_path / name
    if name == "empty.sqlite":
        path.write_bytes(b"")
    conn, message, *rest = db_panel.on_connect([Upload(path, name)], "", db_panel.Connection())
    assert not conn.connected and "msg-error" in message and name in message, message
    assert "Traceback" not in message and "sqlite3." not in message
    assert ("damaged or incomplete" if name == "truncated.sqlite" else "the file is empty") in message
