"""GPU: the same engine runs Unsloth in 4-bit on CUDA (run on the GPU machine with `pytest -m gpu`).

No weights can be downloaded there, so the model is random-initialised from a Qwen2 config (speed does not
depend on the weights); the tokenizer is the bundled model's, saved to .gpu/tokenizer by the caller."""

import json
import os
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.gpu


def random_qwen2(
    target: Path,
    layers: int = 28,
    hidden: int = 1536,
    inter: int = 8960,
    heads: int = 12,
    kv: int = 2,
    tied: bool = True,
    max_positions: int = 8192,
) -> Path:
    """A random-initialised Qwen2 model (default: Qwen2.5-Coder-1.5B's shape) saved with the bundled tokenizer, built
    in a child process so that this process holds no GPU memory (the baseline of the memory checks)."""
    import subprocess
    import sys

    code = f"""
import torch
from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM
tok = AutoTokenizer.from_pretrained({str(os.environ.get("STUDIO_GPU_TOKENIZER", ROOT / ".gpu" / "tokenizer"))!r})
config = Qwen2Config(vocab_size=len(tok), hidden_size={hidden}, intermediate_size={inter}, num_hidden_layers={layers},
                     num_attention_heads={heads}, num_key_value_heads={kv}, max_position_embeddings={max_positions},
                     tie_word_embeddings={tied}, torch_dtype="bfloat16")
with torch.device("cuda"):
    model = Qwen2ForCausalLM(config).to(torch.bfloat16)
model.save_pretrained({str(target)!r})
tok.save_pretrained({str(target)!r})
"""
    subprocess.run([sys.executable, "-c", code], check=True)
    return target


def device_used_mib() -> int:
    """GPU memory in use on the device, all processes (what nvidia-smi shows)."""
    from core.train.gpus import visible_gpus

    return visible_gpus(fresh=True)[0].used_mib


def peak_gib(snap: dict) -> float:
    return json.loads((Path(snap["output_dir"]) / "rank-0.json").read_text())["peak_gpu_gib"]


def test_unsloth_4bit_run_of_a_qwen2_shaped_model_through_the_engine(tmp_path):
    from core.config import TrainConfig
    from core.train import Engine, gpu_count

    assert gpu_count() > 0, "needs a CUDA GPU"
    model = random_qwen2(tmp_path / "qwen2-random", max_positions=4096)
    engine = Engine()
    cfg = TrainConfig(
        data_path=str(ROOT / "assets/sample_pairs.jsonl"),
        schema_path=str(ROOT / "assets/sample_schema.sql"),
        model=str(model),
        max_steps=10,
        load_in_4bit=True,
        eval_fraction=0.0,
        experiment="gpu-test",
    )
    start = time.time()
    engine.start(cfg)
    snap = engine.wait(timeout=900)
    print(
        f"\nGPU run: status {snap['status']}, {snap['step']} steps in {time.time() - start:.0f} s, "
        f"{snap['tokens_per_second'] or 0:.0f} non-padding tokens/s (last interval), backend {snap['backend']}, "
        f"peak {peak_gib(snap):.1f} GiB"
    )
    print("\n".join(snap["log_lines"][-6:]))
    assert snap["status"] == "completed", snap["error"]
    assert snap["backend"] == "unsloth-cuda" and snap["step"] == 10 and snap["tokens_per_second"] > 0
    assert (Path(snap["adapter_path"]) / "adapter_model.safetensors").exists()


def test_out_of_memory_fails_with_an_actionable_message_frees_the_device_and_the_next_run_succeeds(
    tmp_path, monkeypatch
):
    """A real CUDA OOM through the engine: 1,024 pairs of ~6,000 tokens in one micro-batch of a 1.5B-shaped model.

    Unsloth offloads checkpointed activations to host RAM, so a batch that only needs many layers' worth of
    activations fills the host first (seen on an H200 with 512 pairs of 3,000 tokens); one layer's MLP on 6M tokens
    (~110 GB) runs the GPU out of memory before much is offloaded. The model lives in the worker process: when it
    ends, the device's memory (nvidia-smi, all processes) is back to what it was before the run."""
    from core.config import TrainConfig
    from core.train import Engine, gpu_count

    assert gpu_count() > 0, "needs a CUDA GPU"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")  # self-contained
    model = random_qwen2(tmp_path / "qwen2-random")
    long_pairs = tmp_path / "long.jsonl"
    filler = "for every region and every quarter of the year, counting only the paid sales, " * 360
    long_pairs.write_text(
        "".join(
            json.dumps(
                {
                    "question": f"{i}: {filler}total amount?",
                    "sql": "SELECT region_id, SUM(amount) FROM sales GROUP BY region_id",
                }
            )
            + "\n"
            for i in range(1100)
        )
    )
    common = dict(
        schema_path=str(ROOT / "assets/sample_schema.sql"),
        model=str(model),
        eval_fraction=0.0,
        experiment="gpu-test",
        checkpoint_every=0,
        warmup_steps=0,
    )
    baseline = device_used_mib()

    engine = Engine()
    start = time.time()
    engine.start(
        TrainConfig(
            data_path=str(long_pairs),
            max_steps=2,
            batch_size=1024,
            grad_accum=1,
            max_seq_length=8192,
            packing=False,
            load_in_4bit=False,
            **common,
        )
    )
    snap = engine.wait(timeout=900)
    after = device_used_mib()
    print(
        f"\nOOM run: {snap['status']} after {time.time() - start:.0f} s: {snap['error']}\n"
        f"device memory in use: {baseline} MiB before the run, {after} MiB after it ended "
        f"(worker peak {peak_gib(snap):.1f} GiB allocated)"
    )
    assert snap["status"] == "failed" and "The GPU ran out of memory" in snap["error"]
    assert "the batch size (now 1024)" in snap["error"] and "max sequence length (now 8192)" in snap["error"]
    assert after - baseline < 256, f"{after - baseline} MiB more in use than before the run"
    assert not engine.busy

    engine.start(
        TrainConfig(
            data_path=str(ROOT / "assets/sample_pairs.jsonl"),
            max_steps=3,
            batch_size=2,
            grad_accum=1,
            max_seq_length=512,
            load_in_4bit=True,
            **common,
        )
    )
    snap = engine.wait(timeout=900)
    print(
        f"next run: {snap['status']}, {snap['step']} steps; device memory after it: {device_used_mib()} MiB"
    )
    assert snap["status"] == "completed", snap["error"]
    assert (Path(snap["adapter_path"]) / "adapter_model.safetensors").exists()
