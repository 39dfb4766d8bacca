"""The training engine, for real: Unsloth (CPU fallback) on the bundled model, with a real MLflow server."""

import json
import time

import pytest

from core.config import TrainConfig
from core.data import DataError
from core.defaults import BUNDLED_MODEL
from core.train import BusyError, Engine
from tests.conftest import ROOT
from tests.train.test_restart import journal_losses

pytestmark = pytest.mark.slow

SAMPLE = str(ROOT / "assets" / "sample_pairs.jsonl")
SCHEMA = str(ROOT / "assets" / "sample_schema.sql")


def tiny(**kw) -> TrainConfig:
    """Small enough for 2 CPU cores: one short pair per step."""
    base = dict(
        data_path=SAMPLE,
        schema_path=SCHEMA,
        max_steps=5,
        batch_size=1,
        grad_accum=1,
        warmup_steps=1,
        max_seq_length=512,
        eval_fraction=0.0,
        experiment="tests",
    )
    return TrainConfig(**{**base, **kw})


def wait_for(predicate, timeout=300.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture(scope="module")
def finished_run(mlflow_server):
    engine = Engine()
    engine.start(tiny(run_name="five-steps"))
    snap = engine.wait(timeout=600)
    return engine, snap


def test_five_step_run_is_tracked_in_mlflow(finished_run, mlflow_server):
    from mlflow.tracking import MlflowClient

    _, snap = finished_run
    assert snap["status"] == "completed", snap["error"]
    assert snap["step"] == 5 and snap["backend"] == "unsloth-cpu" and snap["tokens_per_second"] > 0
    client = MlflowClient(mlflow_server)
    run = client.get_run(snap["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params["cfg.rank"] == "16" and run.data.params["cfg.alpha"] == "32"
    assert run.data.params["cfg.max_steps"] == "5"
    assert run.data.tags["backend"] == "unsloth-cpu" and run.data.tags["dataset_hash"]
    assert run.data.tags["version.unsloth"] == "2026.10.9" and run.data.tags["train_rows"] == "424"
    history = sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, "loss"))
    assert len(history) >= 5
    assert history == journal_losses(
        ROOT / snap["output_dir"]
    )  # MLflow holds exactly what the worker journalled
    assert client.get_metric_history(run.info.run_id, "tokens_per_second")
    assert {"learning_rate", "grad_norm"} <= set(run.data.metrics)
    top = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"adapter", "config.json", "validation_report.json", "samples.txt", "split.json"} <= top
    adapter_files = {a.path.split("/")[-1] for a in client.list_artifacts(run.info.run_id, "adapter")}
    assert {"adapter_config.json", "adapter_model.safetensors", "studio_prompt.json"} <= adapter_files


def test_saved_adapter_loads_and_its_lora_weights_were_trained(finished_run):
    from pathlib import Path

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from core.train import resolve_model

    _, snap = finished_run
    config = json.loads((Path(snap["adapter_path"]) / "adapter_config.json").read_text())
    assert config["r"] == 16 and config["lora_alpha"] == 32
    assert set(config["target_modules"]) == {
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    }
    base = AutoModelForCausalLM.from_pretrained(resolve_model("bundled"))
    model = PeftModel.from_pretrained(base, snap["adapter_path"])
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert lora_b and any(torch.count_nonzero(p) > 0 for p in lora_b)  # LoRA B starts at zero
    from core.prompt_record import PromptRecord

    record = PromptRecord.load(Path(snap["adapter_path"]))  # what exports rebuild the training prompt from
    assert record.base_model == BUNDLED_MODEL and record.schema_text.startswith("CREATE TABLE regions")


def test_stop_mid_run_keeps_a_usable_adapter_and_a_second_start_is_refused(mlflow_server):
    from pathlib import Path

    engine = Engine()
    engine.start(tiny(max_steps=200, run_name="stopped"))
    with pytest.raises(BusyError, match="already in progress"):
        engine.start(tiny())
    assert wait_for(lambda: engine.snapshot()["step"] >= 2), engine.snapshot()
    assert engine.stop()
    snap = engine.wait(timeout=300)
    assert snap["status"] == "stopped" and 2 <= snap["step"] < 200
    assert (Path(snap["adapter_path"]) / "adapter_model.safetensors").exists()
    assert "usable" in snap["message"]


def test_broken_dataset_is_refused_or_fails_with_a_message(mlflow_server, tmp_path):
    engine = Engine()
    broken = tmp_path / "broken.json"
    broken.write_text('[{"question": "q"', encoding="utf-8")
    with pytest.raises(DataError, match="broken.json: not valid JSON"):
        engine.start(tiny(data_path=str(broken)))
    all_bad = tmp_path / "all_bad.csv"
    all_bad.write_text("question,sql\nq1,DROP TABLE sales\nq2,SELEC\n", encoding="utf-8")
    engine.start(tiny(data_path=str(all_bad)))
    snap = engine.wait(timeout=300)
    assert snap["status"] == "failed" and "No trainable rows" in snap["error"]
    assert not engine.busy
