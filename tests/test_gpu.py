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
    from core.engine import Engine

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
