"""One prompt from training to evaluation: the database's name comes from the connected database (not from the
pairs file's name), and every consumer renders the run's prompt record, so training and evaluation prompts are the
same strings by construction."""

import json

from core import cli
from core.config import TrainConfig
from core.data import render_example
from core.defaults import database_name_of
from core.evaluate.evaluate import sides_for
from core.prompt_record import PromptRecord
from core.train.dataset import prepare_run_data
from tests.db_samples import LIBRARY, library_rows, sqlite_file


def test_the_database_is_named_after_the_connected_database_not_the_pairs_file():
    assert database_name_of("/data/shop.sqlite") == "shop"
    assert database_name_of("warehouse.duckdb") == "warehouse"  # a DuckDB file's catalog is its stem
    assert database_name_of("postgresql://u:p@localhost:5432/sales%20eu") == "sales eu"
    assert database_name_of("exports/") == "exports" and database_name_of("sample") == "company_sales"
    cfg = TrainConfig(data_path="shop-gen.jsonl", database="/data/shop.sqlite", schema_in_prompt="none")
    assert cfg.database_label() == "shop"
    assert TrainConfig(**{**cfg.to_dict(), "database_name": "Shop EU"}).database_label() == "Shop EU"
    # no database: the pairs file as the person named it, not the generated name an upload is stored under
    upload = TrainConfig(data_path="uploads/dd4629d0dcfb4336.jsonl", data_name="shop_pairs.jsonl")
    assert upload.database_label() == "shop"
    assert TrainConfig(data_path="uploads/5e1f.jsonl", data_name="sample_pairs.jsonl").database_label() == (
        "company_sales"
    )


def test_training_and_evaluation_prompts_are_identical_strings(tmp_path, tokenizer):
    db = sqlite_file(tmp_path / "library.sqlite", LIBRARY + library_rows())
    data = tmp_path / "shop-gen.jsonl"  # named unlike the database
    asks = [
        ("books", "title"),
        ("books", "genre"),
        ("authors", "name"),
        ("authors", "country"),
        ("members", "city"),
        ("members", "name"),
        ("shelves", "room"),
        ("loans", "days"),
    ]
    rows = [
        {"question": f"{verb} the {column} of every row in {table}", "sql": f"SELECT {column} FROM {table}"}
        for table, column in asks
        for verb in ("List", "Show", "Give")
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for mode in ("none", "full"):
        args = cli.build_parser().parse_args(
            ["train", str(data), "--db", str(db), "--schema-in-prompt", mode]
        )
        run = prepare_run_data(cli._config(args), tokenizer)
        assert run.held_out, "the split must hold rows out"
        trained = [
            render_example(r["prompt"] + r["completion"], tokenizer).prompt_text
            for r in run.rows(run.held_out)
        ]
        run.record.save(tmp_path)  # what the adapter folder carries
        record = PromptRecord.load(tmp_path)
        [(_, _, adapter_record)] = [s for s in sides_for(record, "adapter-folder") if s[0] == "adapter"]
        evaluated = [
            tokenizer.apply_chat_template(
                adapter_record.prompt_messages(p.question), tokenize=False, add_generation_prompt=True
            )
            for p in run.held_out
        ]
        assert trained == evaluated
        assert "shop-gen" not in trained[0] and ("the library database" in trained[0] or mode == "full")


def test_the_base_model_is_asked_with_the_schema_while_the_adapter_keeps_its_own_prompt():
    schema = "CREATE TABLE books (book_id INT, title TEXT, pages INT);"
    record = PromptRecord(
        "bundled",
        "You are a {dialect} SQL expert for the {database} database.",
        "sqlite",
        schema,
        "none",
        "library",
    )
    sides = {name: side for name, _, side in sides_for(record, "adapter-folder")}
    base = sides["base"].prompt_messages("How many books?")[0]["content"]
    tuned = sides["adapter"].prompt_messages("How many books?")[0]["content"]
    assert "CREATE TABLE books" in base and "CREATE TABLE" not in tuned and "library" in tuned
    assert sides["base_prompt"].prompt_messages("How many books?")[0]["content"] == tuned  # the second line
    full = PromptRecord("bundled", schema_text=schema, dialect="sqlite")
    assert [name for name, _, _ in sides_for(full, "adapter-folder")] == [
        "base",
        "adapter",
    ]  # nothing differs


def test_no_evaluate_holds_nothing_out():
    args = cli.build_parser().parse_args(["train", "--no-evaluate"])
    assert cli._config(args).eval_fraction == 0.0
    kept = cli.build_parser().parse_args(["train", "--no-evaluate", "--eval-fraction", "0.2"])
    assert cli._config(kept).eval_fraction == 0.2
