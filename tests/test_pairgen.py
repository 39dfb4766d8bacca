"""Pairs generated from a database: deterministic for a seed, every SQL parses in its dialect, runs and returns rows
on SQLite, DuckDB and PostgreSQL, no write statements, every template kind appears, varied wording."""

import json
from collections import Counter

import pytest

from core import cli
from core.db import connect, generate_pairs, introspect, write_jsonl
from core.db.execute import read_only_problem
from core.db.pairgen import ALL_TEMPLATES
from core.db.phrasing import humanise, table_nouns
from tests.db_samples import (
    LIBRARY,
    library_duckdb,
    library_rows,
    library_sqlite,
    postgres_schema,
    sample_sqlite,
)

KINDS = {t.__name__ for t in ALL_TEMPLATES} | {"except"}  # `intersect` also makes EXCEPT pairs


def check_all_run(pairs, db, dialect):
    assert pairs
    for pair in pairs:
        assert read_only_problem(pair.sql, dialect) is None, pair.sql  # parses, one read statement
        result = db.execute(pair.sql, dialect)
        assert result.ok and result.rows, (pair.sql, result.error)
        assert pair.question.strip() and pair.question[0].isupper()


def test_same_seed_same_file_and_another_seed_differs(tmp_path):
    db = connect("sample")
    info = introspect(db)
    first = write_jsonl(generate_pairs(db, n=100, seed=7), tmp_path / "a.jsonl").read_text()
    again = write_jsonl(generate_pairs(db, n=100, seed=7, info=info), tmp_path / "b.jsonl").read_text()
    other = write_jsonl(generate_pairs(db, n=100, seed=8, info=info), tmp_path / "c.jsonl").read_text()
    assert first == again and first != other
    records = [json.loads(line) for line in first.splitlines()]
    assert len(records) == 100 and all(r["source"] == "generated" and r["template"] for r in records)
    assert len({r["sql"] for r in records}) == 100 and len({r["question"].lower() for r in records}) == 100
    with pytest.raises(ValueError, match="between 1 and"):
        generate_pairs(db, n=0, info=info)


def test_every_template_appears_and_no_kind_dominates(tmp_path):
    db = connect(str(library_sqlite(tmp_path)))
    pairs = generate_pairs(db, n=400, seed=7)
    kinds = Counter(p.template for p in pairs)
    assert set(kinds) == KINDS, KINDS - set(kinds)
    assert max(kinds.values()) <= 0.12 * len(pairs)  # 31 kinds: none far above its share
    check_all_run(pairs, db, "sqlite")
    by_kind: dict[str, set] = {}
    for p in pairs:  # the question's first words vary within a kind (several phrasings per template)
        by_kind.setdefault(p.template, set()).add(" ".join(p.question.split()[:2]))
    assert sum(len(v) >= 3 for v in by_kind.values()) >= 0.7 * len(by_kind)


def test_sqlite_and_duckdb_files(tmp_path):
    for path, dialect in ((sample_sqlite(tmp_path), "sqlite"), (library_duckdb(tmp_path), "duckdb")):
        db = connect(str(path))
        assert db.dialect == dialect
        check_all_run(generate_pairs(db, n=80, seed=3), db, dialect)


def test_postgres(postgres):
    url = postgres_schema(postgres, "library_gen", LIBRARY + library_rows())
    db = connect(url)
    pairs = generate_pairs(db, n=120, seed=5)
    check_all_run(pairs, db, "postgres")


def test_no_write_statements_even_in_odd_names(tmp_path):
    from tests.db_samples import sqlite_file

    path = sqlite_file(tmp_path / "odd.sqlite", 'CREATE TABLE "drop table x; --" ("select" TEXT, "delete" INT);'
                       "INSERT INTO \"drop table x; --\" VALUES ('a''b', 1), ('c', 2), ('a''b', 3);")
    db = connect(str(path))
    pairs = generate_pairs(db, n=60, seed=1)
    check_all_run(pairs, db, "sqlite")
    assert db.con.execute('SELECT COUNT(*) FROM "drop table x; --"').fetchone() == (3,)


def test_names_read_as_english():
    assert humanise("signup_date") == "sign-up date" and humanise("FullName") == "full name"
    assert table_nouns("singer") == ("singer", "singers") and table_nouns("categories") == ("category", "categories")
    assert table_nouns("singer_in_concert") == ("singer in concert", "singers in concert")


def test_cli_generate_writes_the_same_file_twice(tmp_path, capsys):
    out_a, out_b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert cli.main(["generate", "--db", "sample", "--n", "40", "--seed", "7", "--out", str(out_a)]) == 0
    assert cli.main(["generate", "--db", "sample", "--n", "40", "--seed", "7", "--out", str(out_b)]) == 0
    assert out_a.read_text() == out_b.read_text() and len(out_a.read_text().splitlines()) == 40
    assert "40 pairs from sample" in capsys.readouterr().out
    assert cli.main(["generate", "--db", str(tmp_path / "nope.db"), "--out", str(out_a)]) == 2
    assert "no such file" in capsys.readouterr().err
