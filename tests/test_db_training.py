"""The connected database through training and evaluation: the run's config records it (password masked in MLflow),
the trainer takes the schema from it and excludes only what fails on it, the split keeps evaluation rows from the
user's own pairs, and the evaluation reconnects to it."""

import json

import pytest

from core import cli
from core.config import TrainConfig
from core.data import Pair, load_pairs, split_pairs
from core.evaluate import database_for
from core.redact import redact_values
from core.train import load_dataset
from tests.db_samples import library_sqlite, sqlite_file


def test_pairs_keep_their_source_and_template(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(
        json.dumps({"question": "q1", "sql": "SELECT 1"})
        + "\n"
        + json.dumps({"question": "q2", "sql": "SELECT 2", "source": "generated", "template": "count_all"})
        + "\n"
    )
    mine, made = load_pairs(path)
    assert (mine.source, mine.generated) == ("", False)
    assert (made.source, made.template, made.generated) == ("generated", "count_all", True)


def test_split_holds_out_only_the_users_pairs_and_no_leaked_twin():
    own = [Pair(f"Own question q{i}x?", f"SELECT {i} FROM t", i) for i in range(1, 41)]
    generated = [
        Pair(
            f"Generated question g{i}x?",
            f"SELECT {i + 100} FROM t",
            100 + i,
            source="generated",
            template="count_all",
        )
        for i in range(1, 201)
    ]
    twin = Pair(
        "Another wording", "SELECT 7 FROM t", 999, source="generated", template="x"
    )  # same SQL as own row 7
    train, held = split_pairs([*own, *generated, twin], fraction=0.25, seed=1, min_eval=0)
    assert held and all(not p.generated for p in held) and len(held) == 10  # 25% of the user's 40
    assert all(g in train for g in generated)
    if any(p.row == 7 for p in held):
        assert twin not in train  # it would give a held-out answer away
    only_generated = split_pairs(generated, fraction=0.1, seed=1)[1]
    assert len(only_generated) == 20  # without the user's pairs, the generated ones are split as before


def test_trainer_takes_the_schema_from_the_database_and_excludes_only_what_fails(tmp_path):
    db_path = sqlite_file(
        tmp_path / "music.sqlite",
        "CREATE TABLE performance (id INT, type TEXT);"
        "INSERT INTO performance VALUES (1, 'Live final'), (2, 'Studio');",
    )
    data = tmp_path / "pairs.jsonl"
    data.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {
                    "question": "Not live finals?",
                    "sql": 'SELECT COUNT(*) FROM performance WHERE type != "Live final"',
                },
                {"question": "Kinds?", "sql": "SELECT kind FROM performance"},
                {"question": "Ids?", "sql": "SELECT id FROM performance"},
            ]
        )
    )
    cfg = TrainConfig(data_path=str(data), dialect="sqlite", database=str(db_path))
    pairs, schema, schema_text, report = load_dataset(cfg)
    assert "CREATE TABLE performance" in schema_text and schema.tables == {"performance": ["id", "type"]}
    assert report.error_rows == {2} and report.preflight.startswith("2 of 3 run on")


def test_cli_db_flag_sets_the_database_dialect_and_no_default_schema(tmp_path):
    path = library_sqlite(tmp_path)
    cfg = cli._config(cli.build_parser().parse_args(["train", "pairs.jsonl", "--db", str(path)]))
    assert (cfg.database, cfg.dialect, cfg.schema_path) == (str(path), "sqlite", "")
    plain = cli._config(cli.build_parser().parse_args(["train"]))
    assert (
        plain.schema_path.endswith("sample_schema.sql") and plain.dialect == "postgres" and not plain.database
    )


def test_evaluation_reconnects_to_the_runs_database(tmp_path):
    path = library_sqlite(tmp_path)
    db = database_for(TrainConfig(database=str(path), dialect="sqlite"))
    assert db.dialect == "sqlite" and db.execute("SELECT COUNT(*) FROM books", "sqlite").rows == [(40,)]
    other = database_for(TrainConfig(database=str(path), dialect="sqlite"), "sample")  # a target given wins
    assert other.execute("SELECT COUNT(*) FROM sales", "duckdb").rows == [(600,)]
    default = database_for(
        TrainConfig(schema_text="CREATE TABLE t (a INT);")
    )  # no database: DuckDB from the schema
    assert default.execute("SELECT COUNT(*) FROM t", "postgres").ok
    stored = redact_values({"cfg.database": "postgresql://studio:secret@localhost/shop"})["cfg.database"]
    assert "secret" not in stored  # what MLflow gets
    with pytest.raises(ValueError, match="password was not stored"):
        database_for(TrainConfig(database=stored))
