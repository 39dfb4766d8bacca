"""Your questions: kept per database in the data folder, never trained on, scored as their own set; and generated
held-out rows taken by template and wording family, so no held-out wording was trained on."""

import json
import threading

from core.config import TrainConfig
from core.data import Pair, split_pairs
from core.db import connect
from core.db.your_questions import SET_NAME, add_question, database_of, questions_file, your_questions
from core.evaluate.evaluate import _evaluate, sides_for
from core.pairgen import generate_pairs
from core.prompt_record import PromptRecord
from core.train.dataset import prepare_run_data


def test_questions_are_kept_per_database_and_a_question_asked_again_replaces_its_sql(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path))
    assert add_question("/data/shop.sqlite", "How many sales?", "SELECT COUNT(*) FROM sales") == (1, True)
    assert add_question("/data/shop.sqlite", "how many sales", "SELECT COUNT(sale_id) FROM sales") == (
        1,
        False,
    )
    assert add_question("postgresql://u:secret@localhost/shop", "Regions?", "SELECT name FROM regions") == (
        1,
        True,
    )
    [kept] = your_questions("/data/shop.sqlite")
    assert (kept.question, kept.sql) == ("how many sales", "SELECT COUNT(sale_id) FROM sales")
    assert questions_file("/data/shop.sqlite").parent == tmp_path / "questions"
    assert "secret" not in questions_file("postgresql://u:secret@localhost/shop").name
    assert your_questions("/data/other.sqlite") == []


def test_questions_added_at_once_are_all_kept(tmp_path, monkeypatch):
    """Two sessions (or the studio and a CLI) adding questions at once: each add is a read-modify-write of the
    database's file under its cross-process lock, so neither loses the other's."""
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path))

    # words, not numbers: a number is a value, and questions that differ only in one are the same question
    words = "zero one two three four five six seven eight nine ten eleven twelve".split()

    def ask(who: str):
        for word in words:
            add_question("/data/shop.sqlite", f"Which {word} did {who} ask about?", "SELECT 1")

    threads = [threading.Thread(target=ask, args=(who,)) for who in ("Ann", "Bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    kept = {p.question for p in your_questions("/data/shop.sqlite")}
    assert kept == {f"Which {word} did {who} ask about?" for who in ("Ann", "Bob") for word in words}


def test_your_questions_are_never_trained_on(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path))
    data = tmp_path / "pairs.jsonl"
    columns = {
        "regions": ("name", "country", "region_id"),
        "customers": ("name", "segment", "signup_date"),
        "products": ("name", "category", "unit_price"),
        "sales": ("sale_date", "quantity", "amount"),
    }
    rows = [
        {"question": f"List the {c} of every {t}", "sql": f"SELECT {c} FROM {t}"}
        for t, cs in columns.items()
        for c in cs
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = TrainConfig(data_path=str(data), database="sample", eval_fraction=0.0, max_steps=1)
    add_question(
        database_of(cfg), "Which countries do the regions have?", "SELECT country FROM regions"
    )  # same SQL
    add_question(database_of(cfg), "List the amount of every sales", "SELECT 1")  # the same question
    run = prepare_run_data(cfg)
    trained = {(p.question, p.sql) for p in run.train}
    assert len(trained) == len(rows) - 2
    assert ("List the country of every regions", "SELECT country FROM regions") not in trained
    assert ("List the amount of every sales", "SELECT amount FROM sales") not in trained


class CannedGenerator:
    """A stand-in for the generation process in this bookkeeping test: it answers every prompt with the SQL the
    test gives per side, so only the scoring and the sets are under test."""

    def __init__(self, answers: dict):
        self.answers = answers

    def generate(
        self,
        model,
        adapter,
        trust_remote_code,
        prompts,
        batch_size=0,
        max_new_tokens=96,
        progress=None,
        candidates=1,
    ):
        return [self.answers["adapter" if adapter else "base"]] * len(prompts)


def test_your_questions_are_scored_as_their_own_set():
    db = connect("sample")
    record = PromptRecord(
        "bundled",
        "You are a {dialect} SQL expert for the {database} database.",
        "duckdb",
        "CREATE TABLE sales (sale_id INT, amount DECIMAL(12, 2));",
        "none",
        "company_sales",
    )
    held = [
        Pair(q, "SELECT COUNT(*) FROM sales", i, source="generated", template="count", phrasing=str(i))
        for i, q in enumerate(["How many sales are there?", "Count the sales.", "Number of sales?"], start=1)
    ]
    own = [
        Pair("Number of sales?", "SELECT COUNT(*) FROM sales", 1),
        Pair("Biggest sale?", "SELECT MAX(amount) FROM sales", 2),
    ]
    sides = sides_for(record, "adapter-folder")
    canned = CannedGenerator({"base": "SELECT 1", "adapter": "SELECT COUNT(*) FROM sales"})
    report = _evaluate(held, db, record, sides, lambda m: None, 0, False, canned, {SET_NAME: own})
    assert report.rows == 3 and report.summaries["adapter"]["exec_accuracy"] == 1.0
    assert report.set_summaries[SET_NAME]["adapter"]["n"] == 2
    assert report.set_summaries[SET_NAME]["adapter"]["exec_accuracy"] == 0.5  # right on one of the two
    assert report.set_summaries[SET_NAME]["base"]["exec_accuracy"] == 0.0
    assert "generated questions" in report.held_out and f"2 of {SET_NAME}" in report.headline()
    # the verdict: fine-tuning beat the baseline, each percentage with its counts
    assert report.headline().endswith("(0% (0 of 3) -> 100% (3 of 3)).")


def test_generated_rows_are_held_out_by_template_and_wording_family():
    made = generate_pairs(connect("sample"), n=400, seed=7)
    pairs = [
        Pair(p.question, p.sql, i, source="generated", template=p.template, phrasing=p.phrasing)
        for i, p in enumerate(made, start=1)
    ]
    train, held = split_pairs(pairs, fraction=0.1, seed=3407)
    assert held and train
    assert not {p.family for p in held} & {p.family for p in train}  # no held-out wording was trained on
    assert not {p.sql for p in held} & {p.sql for p in train}  # nor a held-out query under another wording
