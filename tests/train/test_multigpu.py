"""Several GPUs of one host: one run through the studio's engine as DDP (torchrun), run with `pytest -m multigpu` on a
host with 2 or more GPUs. The same code path runs on the CPU in the default tests (tests/train/test_worker.py, gloo).

A random-initialised Qwen2.5-Coder-1.5B-shaped model (no downloads on the GPU hosts) trains on 2 GPUs: the run
completes with one MLflow run and one loss series (rank 0 alone logs), one adapter; Stop saves the adapter once;
an out-of-memory failure on one GPU ends the whole run as failed with the out-of-memory message and frees every GPU.
"""

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.train.test_gpu import random_qwen2
from tests.train.test_restart import journal_losses

pytestmark = pytest.mark.multigpu


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from core.train import gpu_count

    if gpu_count() < 2:
        pytest.skip("needs 2 or more GPUs")
    return random_qwen2(tmp_path_factory.mktemp("models") / "qwen2-1.5b-random")


def config(model, **kw):
    from core.config import TrainConfig

    base = dict(
        data_path=str(ROOT / "assets/sample_pairs.jsonl"),
        schema_path=str(ROOT / "assets/sample_schema.sql"),
        model=str(model),
        max_steps=8,
        gpus=2,
        load_in_4bit=False,
        eval_fraction=0.0,
        experiment="multigpu-test",
        checkpoint_every=0,
    )
    return TrainConfig(**{**base, **kw})


def test_a_run_on_two_gpus_logs_once_and_saves_one_adapter(model, mlflow_server):
    from mlflow.tracking import MlflowClient

    from core.train import Engine

    engine = Engine()
    engine.start(config(model, run_name="ddp-2"))
    snap = engine.wait(timeout=1800)
    assert snap["status"] == "completed", snap["error"]
    folder = Path(snap["output_dir"])
    assert any("x 2 devices" in line for line in snap["log_lines"])
    history = sorted(
        (m.step, m.value)
        for m in MlflowClient(mlflow_server).get_metric_history(snap["mlflow_run_id"], "loss")
    )
    assert [s for s, _ in history] == list(range(1, 9)) and history == journal_losses(folder)
    assert len(list(folder.glob("adapter/adapter_model.safetensors"))) == 1
    peaks = {p.name: json.loads(p.read_text())["peak_gpu_gib"] for p in folder.glob("rank-*.json")}
    print(f"\npeak GPU memory per rank: {peaks}")
    assert set(peaks) == {"rank-0.json", "rank-1.json"} and all(v > 0 for v in peaks.values())


def test_stop_on_two_gpus_saves_the_adapter_once(model, mlflow_server):
    from core.train import Engine
    from tests.train.test_engine import wait_for

    engine = Engine()
    engine.start(config(model, max_steps=500, run_name="ddp-stop"))
    assert wait_for(lambda: engine.snapshot()["step"] >= 2, 900)
    assert engine.stop()
    snap = engine.wait(timeout=600)
    assert snap["status"] == "stopped" and snap["step"] < 500, snap["error"]
    assert (Path(snap["adapter_path"]) / "adapter_model.safetensors").exists()
    assert sum("adapter saved" in line for line in snap["log_lines"]) == 1


def test_out_of_memory_on_one_gpu_fails_the_whole_run_and_frees_every_gpu(model, mlflow_server):
    """GPU 1 is filled from this process before the start, so rank 1 runs out of memory and rank 0 does not."""
    import torch

    from core.train import Engine, visible_gpus

    baseline = [g.used_mib for g in visible_gpus(fresh=True)]
    free = torch.cuda.mem_get_info(1)[0]
    ballast = torch.empty(int(free - 2 * 2**30), dtype=torch.uint8, device="cuda:1")  # leave 2 GiB on GPU 1
    try:
        engine = Engine()
        engine.start(
            config(
                model,
                max_steps=4,
                batch_size=8,
                grad_accum=1,
                max_seq_length=2048,
                packing=False,
                run_name="ddp-oom",
            )
        )
        snap = engine.wait(timeout=900)
    finally:
        del ballast
        torch.cuda.empty_cache()
    assert snap["status"] == "failed" and "ran out of memory" in snap["error"], snap
    after = [g.used_mib for g in visible_gpus(fresh=True)]
    print(f"\ndevice memory in use: before {baseline} MiB, after {after} MiB; error: {snap['error']}")
    # this process's own CUDA context (opened for the ballast) stays: allow it on GPU 1
    assert all(a - b < 600 for a, b in zip(after, baseline, strict=True)), (baseline, after)
