"""Issue 15's path through the studio itself, as its users drive it (gradio_client against the real page): the
sample data, a local model folder, 30 steps with the GPU defaults, an evaluation from the Evaluate tab (time per
side), a playground question, and a merged export from the Runs tab (which checks itself).

On a GPU host: `pytest -m gpu tests/app/test_gpu_studio.py -s`, for both kinds of base repository (a 16-bit model that
Unsloth quantizes on load, a pre-quantized bitsandbytes 4-bit one) of Qwen2.5-Coder-1.5B's shape
(STUDIO_GPU_PATH_SHAPE=7b for the real size; random weights, made by bench/gpu_path.py). With
STUDIO_GPU_STUDIO_MODEL=bundled the same path runs on a CPU with the bundled model, to check the test itself."""

import os
import re
import time

import pytest

from core.data import DEFAULT_SYSTEM_TEMPLATE

pytestmark = pytest.mark.gpu
SHAPE = os.environ.get("STUDIO_GPU_PATH_SHAPE", "1.5b")
ON_CPU = os.environ.get("STUDIO_GPU_STUDIO_MODEL") == "bundled"
KINDS = ["bundled"] if ON_CPU else ["16-bit", "4-bit"]
ALL_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@pytest.fixture(scope="module")
def models():
    if ON_CPU:
        return {"bundled": "bundled:SmolLM2-135M-Instruct"}
    from core.train import gpu_count

    if gpu_count() == 0:
        pytest.skip("needs a CUDA GPU (or STUDIO_GPU_STUDIO_MODEL=bundled to run the path on the CPU)")
    from bench.gpu_path import make_models

    sixteen, four = make_models(SHAPE)
    return {"16-bit": str(sixteen), "4-bit": str(four)}


def start_values(model: str, kind: str) -> list:
    """The Train form's fields (app.train_form.FIELDS order) with the recommended settings for this machine."""
    from app.train_form import FIELDS
    from core.train import gpu_available, recommended_for

    values = {
        **recommended_for(model, gpu_available()),
        "model": model,
        "max_steps": 30,
        "dropout": 0.0,
        "target_modules": ALL_MODULES,
        "load_in_4bit": "auto",
        "gradient_checkpointing": "auto",
        "candidates": 1,
        "grpo_generations": 4,
        "grpo_learning_rate": 1e-5,
        "packing": "auto",
        "batch_tokens": 0,
        "seed": 3407,
        "eval_fraction": 0.1,
        "answer_only_loss": True,
        # the Evaluate tab evaluates below; evaluating at the end too would double the GPU time (the CPU
        # tests cover evaluation at the end of training)
        "evaluate_after": False,
        "run_name": f"studio-path-{kind}",
        "checkpoint_every": 0,
        "keep_checkpoints": False,
        "score_checkpoints": False,
        "trust_remote_code": False,
        "gpus": 1,
        "database_name": "",
    }
    return [values[f] for f in FIELDS]


@pytest.mark.parametrize("kind", KINDS)
def test_train_evaluate_ask_and_export_through_the_studio(models, kind, studio, mlflow_server):
    from gradio_client import Client

    from core.background import current_job

    client = Client(studio, verbose=False)
    # the model first, as a user would (the default on a GPU is a Hub model, which an offline host cannot load)
    ddl, message, summary, *_ = client.predict(model=models[kind], api_name="/use_sample")
    assert "424 of 424 rows will train" in summary, message  # (the dataset itself is session state)

    started = time.time()
    problems, _ = client.predict(
        True, DEFAULT_SYSTEM_TEMPLATE, *start_values(models[kind], kind), api_name="/start"
    )
    assert "Started job" in problems, problems
    first_step, live = None, {}
    while time.time() - started < 1800:
        live = client.predict(api_name="/live")
        snap = live["snapshot"]
        if first_step is None and snap["step"] >= 1:
            first_step = time.time() - started
        if snap["status"] in ("completed", "stopped", "failed", "died"):
            break
        time.sleep(1)
    assert snap["status"] == "completed", snap.get("error")
    trained = time.time() - started

    run_id = live["run_id"]
    client.predict(
        api_name="/finished_runs"
    )  # the Evaluate tab lists the finished runs (this session's choices)
    message, *_ = client.predict(run_id, "The run's database", None, "", True, api_name="/evaluate")
    evaluated = re.search(
        r"Evaluated (\d+) held-out rows in (\d+) s \(base (\d+) s, adapter (\d+) s\)", message
    )
    assert evaluated, message
    rows, base_s, adapter_s = int(evaluated[1]), max(int(evaluated[3]), 1), max(int(evaluated[4]), 1)

    base_sql, _, adapter_sql, _, pg_message, _, _ = client.predict(
        run_id, "Total sales amount per region?", "The run's database", None, "", api_name="/ask"
    )
    assert base_sql.strip() and adapter_sql.strip(), pg_message

    client.predict("text2sql-finetune", api_name="/runs")  # the Runs tab lists them too, for its exports
    status, *_ = client.predict(run_id, "merged", f"studio-path-{kind}", "f16", api_name="/export")
    assert "Exporting" in status, status
    exported = time.time()
    while current_job() is not None and current_job().snapshot()["status"] == "running":
        time.sleep(2)
    job = current_job().snapshot()
    assert job["status"] == "done", job["error"]
    result = job["result"][0]
    assert "answers identical" in result.summary, result.summary  # the export checked itself
    print(
        f"\n{kind}: Start to first step {first_step:.0f} s, trained in {trained:.0f} s; "
        f"Evaluate tab, {rows} rows: base {base_s} s ({rows / base_s:.2f} rows/s), adapter {adapter_s} s "
        f"({rows / adapter_s:.2f} rows/s), model loading included; "
        f"merged export {time.time() - exported:.0f} s: {result.summary}"
    )
