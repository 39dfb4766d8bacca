"""GPU: the same engine runs Unsloth in 4-bit on CUDA (run on the GPU machine with `pytest -m gpu`).

No weights can be downloaded there, so the model is random-initialised from a Qwen2 config (speed does not
depend on the weights); the tokenizer is the bundled model's, saved to .gpu/tokenizer by the caller."""

import os
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.gpu


def test_unsloth_4bit_run_of_a_qwen2_shaped_model_through_the_engine(tmp_path):
    import torch
    import unsloth  # noqa: F401 - before transformers
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    from core.config import TrainConfig
    from core.train import Engine

    assert torch.cuda.is_available(), "needs a CUDA GPU"
    tokenizer = AutoTokenizer.from_pretrained(os.environ.get("STUDIO_GPU_TOKENIZER", ROOT / ".gpu" / "tokenizer"))
    # Qwen2.5-Coder-1.5B's shape
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                         num_attention_heads=12, num_key_value_heads=2, max_position_embeddings=4096,
                         tie_word_embeddings=True, torch_dtype="bfloat16")
    with torch.device("cuda"):
        model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(tmp_path / "qwen2-random")
    tokenizer.save_pretrained(tmp_path / "qwen2-random")
    del model
    torch.cuda.empty_cache()

    engine = Engine()
    cfg = TrainConfig(data_path=str(ROOT / "assets/sample_pairs.jsonl"), schema_path=str(ROOT / "assets/sample_schema.sql"),
                      model=str(tmp_path / "qwen2-random"), max_steps=10, load_in_4bit=True, eval_fraction=0.0,
                      experiment="gpu-test")
    start = time.time()
    engine.start(cfg)
    snap = engine.wait(timeout=900)
    print(f"\nGPU run: status {snap['status']}, {snap['step']} steps in {time.time() - start:.0f} s, "
          f"{snap['tokens_per_second'] or 0:.0f} non-padding tokens/s (last interval), backend {snap['backend']}, "
          f"peak {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    print("\n".join(snap["log_lines"][-6:]))
    assert snap["status"] == "completed", snap["error"]
    assert snap["backend"] == "unsloth-cuda" and snap["step"] == 10 and snap["tokens_per_second"] > 0
    assert (Path(snap["adapter_path"]) / "adapter_model.safetensors").exists()


def test_out_of_memory_fails_with_an_actionable_message_frees_memory_and_the_next_run_succeeds(tmp_path, monkeypatch):
    """A real CUDA OOM through the engine: 1,024 pairs of ~6,000 tokens in one micro-batch of a 1.5B-shaped model.

    Unsloth offloads checkpointed activations to host RAM, so a batch that only needs many layers' worth of
    activations fills the host first (seen on an H200 with 512 pairs of 3,000 tokens); one layer's MLP on 6M tokens (~110 GB)
    runs the GPU out of memory before much is offloaded."""
    import gc
    import json

    import torch
    import unsloth  # noqa: F401 - before transformers
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    from core.config import TrainConfig
    from core.train import Engine

    assert torch.cuda.is_available(), "needs a CUDA GPU"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")  # self-contained
    tokenizer = AutoTokenizer.from_pretrained(os.environ.get("STUDIO_GPU_TOKENIZER", ROOT / ".gpu" / "tokenizer"))
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                         num_attention_heads=12, num_key_value_heads=2, max_position_embeddings=8192,
                         tie_word_embeddings=True, torch_dtype="bfloat16")
    with torch.device("cuda"):
        model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(tmp_path / "qwen2-random")
    tokenizer.save_pretrained(tmp_path / "qwen2-random")
    del model
    gc.collect()
    torch.cuda.empty_cache()
    long_pairs = tmp_path / "long.jsonl"
    filler = "for every region and every quarter of the year, counting only the paid sales, " * 360
    long_pairs.write_text("".join(json.dumps({"question": f"{i}: {filler}total amount?",
                                              "sql": "SELECT region_id, SUM(amount) FROM sales GROUP BY region_id"})
                                  + "\n" for i in range(1100)))
    common = dict(schema_path=str(ROOT / "assets/sample_schema.sql"), model=str(tmp_path / "qwen2-random"),
                  eval_fraction=0.0, experiment="gpu-test", checkpoint_every=0, warmup_steps=0)
    baseline = torch.cuda.memory_allocated()

    engine = Engine()
    start = time.time()
    engine.start(TrainConfig(data_path=str(long_pairs), max_steps=2, batch_size=1024, grad_accum=1,
                             max_seq_length=8192, packing=False, load_in_4bit=False, **common))
    snap = engine.wait(timeout=900)
    gc.collect()
    torch.cuda.empty_cache()
    leftover = torch.cuda.memory_allocated() - baseline
    print(f"\nOOM run: {snap['status']} after {time.time() - start:.0f} s: {snap['error']}\n"
          f"memory allocated after the failure: {leftover / 2**20:.0f} MiB above the baseline "
          f"(peak {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB)")
    if leftover > 256 * 2**20:  # say what still holds GPU memory, for the report
        for obj in gc.get_objects():
            if torch.is_tensor(obj) and obj.is_cuda and obj.numel() * obj.element_size() > 2**28:
                print("held:", tuple(obj.shape), obj.dtype, [type(r).__name__ for r in gc.get_referrers(obj)][:6])
    assert snap["status"] == "failed" and "The GPU ran out of memory" in snap["error"]
    assert "the batch size (now 1024)" in snap["error"] and "max sequence length (now 8192)" in snap["error"]
    # Measured on an H200: of a 125 GiB peak, 17.7 GiB stay allocated after the failed run although the trainer
    # drops its model, the failed frames and Unsloth's checkpointing buffers (not found by gc: held below
    # Python). Asserted: most is returned, and the next run in the same process gets what it needs.
    assert leftover < 0.2 * torch.cuda.max_memory_allocated(), f"{leftover / 2**20:.0f} MiB still allocated"
    assert not engine.busy

    engine.start(TrainConfig(data_path=str(ROOT / "assets/sample_pairs.jsonl"), max_steps=3, batch_size=2,
                             grad_accum=1, max_seq_length=512, load_in_4bit=True, **common))
    snap = engine.wait(timeout=900)
    print(f"next run in the same process: {snap['status']}, {snap['step']} steps")
    assert snap["status"] == "completed", snap["error"]
    assert (Path(snap["adapter_path"]) / "adapter_model.safetensors").exists()
