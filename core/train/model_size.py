"""A model's size from its config.json alone (no weights, no torch): its dimensions, its parameters and the GPU
memory a LoRA run of it needs. The estimate (core.train.estimate), the precision and checkpointing choices
(core.train.precision) and the recommended settings use it.

    d = model_dims("bundled")                 # {"hidden": 576, "layers": 30, ...}, or None when unknown
    parameters(d)                             # 134.5e6: the linear layers and the embeddings
    memory_gib(d, four_bit=False, micro_batch_tokens=65536, checkpointing=False)
"""

import json
from pathlib import Path

from core.defaults import is_small, recommended_settings
from core.train.models import ModelError, resolve_model

# Activation memory per token of a micro-batch. With Unsloth's checkpointing only each layer's input stays (2 bytes
# a hidden unit a layer). Without it, every layer keeps its intermediate tensors: measured on an H100 with the
# bundled model's shape (16-bit LoRA r16, 8k to 128k packed tokens a micro-batch: 465-500 KB a token, 27-29 bytes a
# hidden unit a layer; docs/BENCHMARKS.md, "Issue 37").
CHECKPOINTED_BYTES, KEPT_BYTES = 2.0, 30.0


def model_dims(model: str) -> dict | None:
    """hidden size, layers, vocabulary, intermediate size, heads from the model's config.json (local only)."""
    try:
        folder = Path(resolve_model(model, progress=lambda _: None))
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (ModelError, OSError, ValueError):
        return None
    try:
        return {
            "hidden": int(config["hidden_size"]),
            "layers": int(config["num_hidden_layers"]),
            "vocab": int(config["vocab_size"]),
            "inter": int(config.get("intermediate_size", 4 * config["hidden_size"])),
            # no num_key_value_heads: every head has its own keys and values (multi-head attention)
            "kv_ratio": (config.get("num_key_value_heads") or config.get("num_attention_heads", 1))
            / config.get("num_attention_heads", 1),
            "tied": bool(config.get("tie_word_embeddings", False)),
        }
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None


def split_parameters(d: dict) -> tuple[float, float]:
    """(parameters in the transformer's linear layers, parameters in the embeddings)."""
    h = d["hidden"]
    linear = d["layers"] * (2 * h * h + 2 * h * h * d["kv_ratio"] + 3 * h * d["inter"])
    return linear, d["vocab"] * h * (1 if d["tied"] else 2)


def parameters(d: dict | None) -> float | None:
    return sum(split_parameters(d)) if d else None


def memory_gib(d: dict, four_bit: bool, micro_batch_tokens: int, checkpointing: bool = True) -> float:
    """Peak GPU memory of a LoRA step: weights (4-bit: half a byte a parameter, the embeddings in 16-bit), the
    activations of one micro-batch, and 1 GiB for CUDA's own."""
    linear, embeddings = split_parameters(d)
    weights = linear * (0.5 if four_bit else 2.0) + embeddings * 2.0
    per_token = CHECKPOINTED_BYTES if checkpointing else KEPT_BYTES
    activations = micro_batch_tokens * per_token * d["hidden"] * d["layers"]
    return (weights + activations) / 2**30 + 1.0


def recommended_for(model: str, gpu: bool) -> dict:
    """The settings recommended for this model on this machine, by its size (core.defaults). The bundled model is
    small by name: its size is not looked up (that would convert it first, ~20 s, before a command reads its input)."""
    size = None if is_small(model, None) else parameters(model_dims(model))
    return recommended_settings(model, gpu, size)
