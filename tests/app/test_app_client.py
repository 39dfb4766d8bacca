"""The studio through its real protocol (gradio_client): sample data -> 5-step run -> chart mirrors MLflow."""

import time

import pytest

pytestmark = pytest.mark.slow

START_ARGS = (
    dict(  # the Train form's fields, by name (the /start endpoint takes them in train_form.FIELDS' order)
        model="bundled:SmolLM2-135M-Instruct",
        rank=8,
        alpha=16,
        max_steps=5,
        learning_rate=2e-4,
        batch_size=1,
        grad_accum=1,
        warmup_steps=1,
        max_seq_length=512,
        dropout=0.0,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        load_in_4bit="auto",
        gradient_checkpointing="auto",
        epochs=2.5,
        candidates=1,
        grpo_steps=0,
        grpo_generations=4,
        grpo_learning_rate=1e-5,
        packing="auto",
        batch_tokens=0,
        seed=7,
        eval_fraction=0.0,
        answer_only_loss=True,
        evaluate_after=False,
        run_name="client-test",
        checkpoint_every=50,
        keep_checkpoints=False,
        score_checkpoints=False,
        trust_remote_code=False,
        gpus=1,
        schema_in_prompt="full",
        database_name="",
    )
)


def start_args(**changes) -> list:
    """The form's values in the order the /start endpoint takes them."""
    from app.train_form import FIELDS

    values = {**START_ARGS, **changes}
    assert set(values) == set(FIELDS), set(values) ^ set(FIELDS)  # a new field must be given here too
    return [values[f] for f in FIELDS]


def test_sample_to_finished_run_with_chart_equal_to_mlflow(studio, mlflow_server):
    from gradio_client import Client
    from mlflow.tracking import MlflowClient

    client = Client(studio, verbose=False)
    ddl, message, summary, *_ = client.predict(api_name="/use_sample")
    assert "CREATE TABLE" in ddl and "424 of 424 rows will train" in summary
    problems, status = client.predict(
        True,
        "You are a {dialect} SQL expert. Use this schema:\n{schema}",
        *start_args(),
        api_name="/start",
    )
    assert "Started job" in problems, problems
    second, _ = client.predict(True, "You are a {dialect} SQL expert.", *start_args(), api_name="/start")
    assert "already in progress" in second  # a second Start says so and does nothing

    deadline, live = time.time() + 600, {}
    while time.time() < deadline:
        live = client.predict(api_name="/live")
        if live["snapshot"]["status"] in ("completed", "stopped", "failed"):
            break
        time.sleep(1)
    assert live["snapshot"]["status"] == "completed", live["snapshot"]["error"]
    live = client.predict(api_name="/live")  # one more read: async metric logging may lag a second
    history = MlflowClient(mlflow_server).get_metric_history(live["run_id"], "loss")
    assert len(live["loss"]) >= 5
    assert live["loss"] == [[m.step, m.value] for m in sorted(history, key=lambda m: m.step)]

    message, rows, *_ = client.predict("text2sql-finetune", api_name="/runs")
    names = [r[0] for r in rows["data"]] if isinstance(rows, dict) else [r[0] for r in rows]
    assert "client-test" in names


def test_live_is_a_gradio_api_endpoint(studio):
    """`/live` answers through gradio_client from a gr.api endpoint (no hidden JSON and button in the page)."""
    from gradio_client import Client

    client = Client(studio, verbose=False)
    live = client.predict(api_name="/live")
    assert {"run_id", "loss", "eval_loss", "learning_rate", "warning", "snapshot"} <= set(live)
    assert "status" in live["snapshot"] and "log_lines" not in live["snapshot"]
    endpoint = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/live"]
    assert endpoint["parameters"] == [] and endpoint["returns"][0]["component"] == "Api"
