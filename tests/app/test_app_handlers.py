"""The studio's handlers, called directly with the real engine, real tokenizer and a real MLflow server."""

import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import data_tab, preview_tab, train_plan, train_tab
from app.common import Dataset
from core.defaults import BUNDLED_MODEL
from core.paths import SAMPLE_SCHEMA
from tests.app.test_app_client import start_args
from tests.conftest import write

TEMPLATE = "You are a {dialect} SQL expert. Use this schema:\n{schema}"
SETTINGS = ("postgres", BUNDLED_MODEL, 2048, TEMPLATE, True)


class Upload(str):
    """What gradio hands an upload handler: a temp path, plus the user's file name."""

    def __new__(cls, path, orig_name):
        obj = super().__new__(cls, str(path))
        obj.orig_name = orig_name
        return obj


def sample() -> Dataset:
    ddl, ds, message, summary, rows, fig = data_tab.on_sample(*SETTINGS, Dataset())
    return ds


def test_sample_data_loads_validates_and_counts_rows():
    ddl, ds, message, summary, rows, fig = data_tab.on_sample(*SETTINGS, Dataset())
    assert "CREATE TABLE sales" in ddl and ds.report.summary["rows"] == 424
    assert "424 of 424 rows will train" in summary and "msg-ok" in message
    assert len(ds.report.token_lengths) == 424 and fig.visible and fig.value  # the histogram, shown with data


def test_upload_shows_findings_and_excluding_errors_changes_the_count(tmp_path):
    path = write(
        tmp_path / "tmp123.csv",
        "question,sql\nHow many sales?,SELECT COUNT(*) FROM sales\n"
        "Wipe,DELETE FROM sales\nTypo,SELECT nme FROM regions\n",
    )
    ds, message, summary, rows, _ = data_tab.on_upload(
        Upload(path, "mine.csv"), SAMPLE_SCHEMA.read_text(), *SETTINGS, Dataset()
    )
    assert ds.name == "mine.csv" and "2 rows have errors" in message
    assert "1 of 3 rows will train" in summary
    assert {r[0] for r in rows} == {2, 3} and all(r[4] for r in rows)  # row, ..., how to fix
    assert "3 of 3 rows will train" in data_tab.summary_html(ds, exclude_errors=False)
    assert ds.path != str(path) and "mine" not in ds.path  # stored under a generated name


@pytest.mark.parametrize("content", [b"\xff\xfe\x00garbage", '[{"question": ', "a,b\n1,2\n", ""])
def test_bad_upload_keeps_the_previous_dataset(tmp_path, content):
    good = sample()
    bad = write(tmp_path / "bad.json", content)
    ds, message, summary, rows, _ = data_tab.on_upload(Upload(bad, "bad.json"), "", *SETTINGS, good)
    assert ds is good and "msg-error" in message and "bad.json" in message
    assert "Still using sample_pairs.jsonl (424 rows)" in message and "Traceback" not in message


@pytest.fixture(scope="module")
def sample_ds() -> Dataset:
    return sample()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content=st.binary(max_size=300)
    | st.sampled_from(
        [
            b'[{"question": 1e999999, "sql": [1]}]',
            b"question,question\nq,q\n",
            b'{"question": "q", "sql": "SELECT a ? FROM t"}',
            b"\xef\xbb\xbf",
            b"sql\n" + b"x" * 300_000,
        ]
    ),
    suffix=st.sampled_from([".json", ".jsonl", ".csv"]),
)
def test_any_upload_gets_a_message_and_a_bad_one_keeps_the_previous_dataset(
    tmp_path, sample_ds, content, suffix
):
    """Fuzzed uploads through the real handler: it always answers (five outputs, a message), and when the file is
    refused the session keeps the dataset it had, row for row."""
    good = sample_ds
    before = [(p.question, p.sql) for p in good.pairs]
    path = write(tmp_path / f"fuzz{suffix}", content)
    ds, message, summary, rows, _ = data_tab.on_upload(Upload(path, f"fuzz{suffix}"), "", *SETTINGS, good)
    assert "Traceback" not in message and f"fuzz{suffix}" in message
    if ds is good:
        assert "msg-error" in message and "Still using sample_pairs.jsonl (424 rows)" in message
    else:
        assert ds.loaded and ds.report is not None and "Loaded" in message
    assert [(p.question, p.sql) for p in good.pairs] == before


def test_bad_schema_is_a_message_not_a_crash():
    good = sample()
    ds, message, *_ = data_tab.on_revalidate("CREATE TABLE (", *SETTINGS, good)
    assert ds is good and "does not parse" in message


def test_preview_highlights_the_trained_sql_and_follows_the_template():
    ds = sample()
    body, info, _ = preview_tab.render_preview(ds, 1, TEMPLATE, BUNDLED_MODEL, 2048)
    assert '<mark class="trained"' in body and ds.pairs[0].sql.split()[0] in body.split("<mark")[1]
    assert "tokens" in info and "trained" in info
    body2, _, _ = preview_tab.render_preview(ds, 1, "Answer in {dialect} only.", BUNDLED_MODEL, 2048)
    assert "Answer in postgres only." in body2
    _, short, _ = preview_tab.render_preview(ds, 1, TEMPLATE, BUNDLED_MODEL, 64)
    assert "will be cut" in short
    bad, _, _ = preview_tab.render_preview(ds, 1, "{nope}", BUNDLED_MODEL, 2048)
    assert "msg-error" in bad


def test_the_template_box_shows_the_template_actually_used():
    from core.data import DEFAULT_SYSTEM_TEMPLATE
    from core.defaults import NO_SCHEMA_TEMPLATE

    ds = sample()
    body, _, shown = preview_tab.render_preview(ds, 1, DEFAULT_SYSTEM_TEMPLATE, BUNDLED_MODEL, 2048, "none")
    assert shown == NO_SCHEMA_TEMPLATE and "CREATE TABLE" not in body  # the prompt names the database instead
    body, _, shown = preview_tab.render_preview(ds, 1, NO_SCHEMA_TEMPLATE, BUNDLED_MODEL, 2048, "full")
    assert (
        shown == DEFAULT_SYSTEM_TEMPLATE and "CREATE TABLE" in body
    )  # back to the schema when it is asked for


def test_plan_says_pairs_per_step_and_epochs():
    ds = sample()
    text, suggested = train_plan.plan_html(ds, True, 60, 2, 4)
    # the counts the run will use: the split is made as the trainer makes it
    assert "382 rows will train, 42 are held out" in text
    assert (
        ". One step sees 8 pairs (batch 2 x accumulation 4)" in text and "60 steps make 1.26 epochs" in text
    )
    assert (
        f"Suggested: {suggested} steps" in text and 20 <= suggested <= 120
    )  # 2.5 epochs at most, capped on a CPU
    auto, same = train_plan.plan_html(ds, True, 0, 2, 4)  # 0: the suggestion is what the run will use
    assert same == suggested and f"the suggested {suggested} steps" in auto


def generated_dataset(tmp_path) -> Dataset:
    from dataclasses import replace

    from core.data import load_pairs
    from core.db import connect
    from core.pairgen import generate_pairs, write_jsonl

    path = tmp_path / "generated.jsonl"
    write_jsonl(generate_pairs(connect("sample"), n=200, seed=7), path)
    return replace(sample(), pairs=load_pairs(path), report=None)


def test_plan_says_why_generated_rows_neither_train_nor_score(tmp_path):
    """Generated pairs: the other wordings of a held-out question stay out of training. Without the sentence the
    Data tab's "500 of 500 rows will train" and the plan's "378 rows will train, 53 are held out" disagree."""
    ds = generated_dataset(tmp_path)
    text, _ = train_plan.plan_html(ds, True, 60, 2, 4)
    trained, held, aside = (
        int(n)
        for n in re.search(
            r"(\d+) rows will train, (\d+) generated questions are held out.*?; (\d+) more", text
        ).groups()
    )
    assert trained + held + aside == 200 and aside > 0, text
    assert "so the score is on questions the adapter never saw" in text
    assert "your own questions" in text  # what scores the adapter on what the person asks


def test_few_generated_pairs_hold_few_back():
    """Generated pairs alone hold out 40% of the eval fraction (at least 20): 500 pairs kept 50 back and 70 twins
    beside them; the held-out rows check new wordings, the person's own questions score the adapter."""
    from core.data import Pair, split_pairs

    def generated(n):
        return [
            Pair(
                f"Question {i}?",
                f"SELECT {i}",
                i,
                source="generated",
                template=f"t{i % 40}",
                phrasing=str(i % 3),
            )
            for i in range(1, n + 1)
        ]

    assert len(split_pairs(generated(500), 0.1, seed=1)[1]) in range(20, 30)  # whole families: a few over 20
    assert len(split_pairs(generated(200), 0.1, seed=1)[1]) in range(20, 30)
    assert len(split_pairs(generated(5000), 0.1, seed=1)[1]) in range(200, 215)


def test_plan_suggests_the_steps_from_the_training_rows_as_the_trainer_does(tmp_path):
    """The trainer plans its steps from the rows it trains on: the plan line's suggestion must not move with the
    lengths of rows that never train (it said 172 steps, the run took 179)."""
    from core.data.report import Report
    from core.train import planned_split

    ds = generated_dataset(tmp_path)
    trained = {p.row for p in planned_split(ds.pairs, None, True, 0.1)[0]}
    ds.report = Report(token_lengths=[100] * len(ds.pairs))
    _, alike = train_plan.plan_html(ds, True, 0, 4, 1)
    ds.report = Report(token_lengths=[100 if p.row in trained else 1500 for p in ds.pairs])
    _, suggested = train_plan.plan_html(ds, True, 0, 4, 1)
    assert suggested == alike


def test_plan_on_a_gpu_counts_packed_pairs_per_step(monkeypatch):
    monkeypatch.setattr(train_plan, "gpu_count", lambda: 1)
    text, suggested = train_plan.plan_html(sample(), True, 60, 2, 4, "auto", 0, 2048)
    assert (
        "On this GPU, pairs are packed into micro-batches of 4,096 tokens" in text
    )  # small data: smallest budget
    assert "x accumulation 4" in text and suggested < 120  # more pairs per step, fewer steps for 2-3 epochs
    off, _ = train_plan.plan_html(sample(), True, 60, 2, 4, "off", 0, 2048)
    assert ". One step sees 8 pairs" in off


def values(**kw):
    """The Train form's values in its order: the recipe's settings on the bundled model (tests.app.test_app_client's
    START_ARGS, changed where these tests want other values)."""
    recipe = dict(
        rank=16, alpha=32, max_steps=60, batch_size=2, grad_accum=4, warmup_steps=5, max_seq_length=2048
    )
    return start_args(**{**recipe, "target_modules": ["q_proj"], "seed": 1, "run_name": "", **kw})


def test_start_refuses_bad_settings_with_field_messages():
    problems, _ = train_tab.start_training(
        sample(), True, TEMPLATE, *values(rank=0, learning_rate=5.0, target_modules=[])
    )
    assert "Rank" in problems and "Learning rate" in problems and "Target modules" in problems
    assert not train_tab.get_engine().busy
    no_data, _ = train_tab.start_training(Dataset(), True, TEMPLATE, *values())
    assert "Load data first" in no_data


def test_offline_hub_model_is_refused_with_alternatives():
    problems, _ = train_tab.start_training(
        sample(), True, TEMPLATE, *values(model="unsloth/Qwen2.5-Coder-7B")
    )
    assert "offline" in problems and "bundled" in problems


def test_chart_data_reports_an_unreachable_mlflow_instead_of_failing():
    data = train_tab.chart_data("0123456789abcdef", tracking_uri="http://127.0.0.1:9")
    assert data["loss"] == [] and "not answering" in data["warning"]


def test_tick_renders_the_engine_state_and_skips_when_nothing_changed():
    out = train_tab.tick("")
    status = train_tab.get_engine().snapshot()["status"]
    expected = {"idle": "No training yet", "completed": "Completed", "failed": "Failed", "stopped": "Stopped"}
    assert len(out) == 13 and expected.get(status, "") in out[0]
    assert out[-2].interactive is (status not in ("starting", "running", "stopping", "evaluating"))  # Start
    # Same view -> every output is a gr.skip(). A finished run's view can still change for a moment (its
    # MLflow records being sent in the background), so allow it to settle first.
    view = out[-1]
    for _ in range(20):
        again = train_tab.tick(view)
        if all(type(o).__name__ != "str" for o in again):
            break
        view = again[-1] if isinstance(again[-1], str) else view
        time.sleep(0.5)
    else:
        pytest.fail(f"the tick re-rendered an unchanged view: {view[:200]}")


def test_every_check_and_preview_reads_the_schema_mode():
    """Token counts and the preview depend on the Train tab's "Schema in the prompt"; an event that leaves it out
    (as connecting a database once did) silently counts and shows the full schema."""
    from app.ui import build_app

    demo = build_app()
    mode = next(c for c in demo.blocks.values() if getattr(c, "elem_id", None) == "schema-in-prompt")
    readers = (data_tab.on_upload, data_tab.on_sample, data_tab.on_revalidate, preview_tab.render_preview)
    events = [f for f in demo.fns.values() if f.fn in readers]
    assert len(events) > 10
    for event in events:
        assert any(c is mode for c in event.inputs), (
            f"{event.fn.__name__} ({event.api_name}) misses the schema mode"
        )


def test_a_pair_added_in_the_playground_keeps_the_generated_pairs_generated():
    """The split keeps generated pairs out of the held-out rows; rewriting the file must not turn them into the
    user's own."""
    from app.playground import add_pair
    from core.data import Pair
    from core.data.load import load_pairs

    ds = Dataset(
        "x.jsonl",
        "x.jsonl",
        [
            Pair("How many dogs?", "SELECT COUNT(*) FROM dogs", 1),
            Pair("How many owners?", "SELECT COUNT(*) FROM owners", 2, source="generated", template="count"),
        ],
    )
    ds, message, _ = add_pair(ds, "How many breeds?", "SELECT COUNT(*) FROM breeds")
    assert "row 3" in message
    pairs = load_pairs(ds.path)
    assert [(p.question, p.generated, p.template) for p in pairs] == [
        ("How many dogs?", False, ""),
        ("How many owners?", True, "count"),
        ("How many breeds?", False, ""),
    ]


def test_an_upload_shows_its_sql_checks_progress(tmp_path, monkeypatch):
    """The upload handler's gr.Progress is falsy (its len() is 0), and a truthiness test once dropped it: a big
    file showed only 'processing' for half a minute, and the database pre-flight never showed its progress."""
    import gradio as gr

    import core.data.validate as validate

    class Heard(gr.Progress):
        def __init__(self):
            super().__init__()
            self.heard = []

        def __call__(self, progress, desc=None, **kwargs):
            self.heard.append(desc)

    monkeypatch.setattr(validate, "CHUNK", 100)
    validate._FINDINGS.clear()
    path = write(
        tmp_path / "big.csv",
        "question,sql\n"
        + "".join(
            f"Sales of sale {i}?,SELECT amount FROM sales WHERE sale_id = {i} -- progress\n"
            for i in range(250)
        ),
    )
    progress = Heard()
    assert not progress  # what the handler once tested
    data_tab.on_upload(
        Upload(path, "big.csv"), SAMPLE_SCHEMA.read_text(), *SETTINGS, Dataset(), progress=progress
    )
    assert progress.heard == [f"checking SQL: {n} of 250 queries" for n in (100, 200, 250)]


def test_the_plan_takes_every_plan_field_of_the_form_and_says_what_reinforcing_costs():
    """The page calls the plan with the form's values of every field marked `plan`, in their order: a new field
    the plan does not take left the plan line empty in the browser."""
    from dataclasses import replace

    from app.train_form import FIELDS, PLAN_FIELDS, form_values
    from core.config import TrainConfig

    def plan(cfg):
        shown = dict(zip(FIELDS, form_values(cfg)[: len(FIELDS)], strict=True))
        return train_plan.plan_for(sample(), True, *[shown[f] for f in PLAN_FIELDS])[0]

    cfg = TrainConfig(batch_size=4, grad_accum=1, max_steps=40)
    assert "40 steps make" in plan(cfg) and "reinforcement" not in plan(cfg)
    assert "the reinforcement with the database (GRPO) about" in plan(replace(cfg, grpo_steps=10))
