"""How a run's base model is held while it trains, decided from the machine and the model's size before it loads:
in 4-bit or 16-bit, in bfloat16 or float32 on a CPU, with gradient checkpointing or not. A setting the person chose
(TrainConfig.load_in_4bit, gradient_checkpointing) always wins.

- **4-bit only where 16-bit would crowd the GPU.** bitsandbytes dequantizes every layer on every step: for a model
  that fits comfortably in 16-bit it only costs time (measured on an H100 with the bundled model's shape,
  docs/BENCHMARKS.md, "Issue 37"). Models of up to SIXTEEN_BIT_UP_TO parameters train in 16-bit; larger ones (the
  recipe's 7B) in 4-bit, as the recipe does.
- **Checkpointing only where the activations would not fit.** Recomputing each layer in the backward pass costs
  about a third more compute (and Unsloth's offloading copies to the host); a run keeps its activations when they
  need at most KEEP_SHARE of the device's memory (the GPU's, or the machine's on a CPU).
- **bfloat16 on a CPU only where the CPU has bfloat16 matrix units** (AVX512-BF16 or AMX): there a matrix product of
  the bundled model's shapes runs about 2.5x faster than in float32; elsewhere oneDNN emulates bfloat16, slower than
  float32. The LoRA weights and the optimizer stay float32 either way (Unsloth keeps trainable parameters in float32).
"""

import contextlib
import functools
import os
from pathlib import Path

import psutil

from core.train.gpus import visible_gpus
from core.train.model_size import memory_gib, parameters

SIXTEEN_BIT_UP_TO = 3e9
KEEP_SHARE = 0.5


def four_bit_for(cfg, cuda: bool, dims: dict | None) -> bool:
    """Whether the base model loads in 4-bit: the setting, else on a GPU for models over SIXTEEN_BIT_UP_TO (and for
    models whose size is unknown, as before), never on a CPU (bitsandbytes' 4-bit needs CUDA)."""
    if cfg.load_in_4bit is not None:
        return bool(cfg.load_in_4bit) and cuda
    size = parameters(dims)
    return cuda and (size is None or size > SIXTEEN_BIT_UP_TO)


def device_gib(cuda: bool) -> float | None:
    """The memory training may use: the first visible GPU's, or the machine's on a CPU (None when unknown)."""
    if cuda:
        gpus = visible_gpus()
        return gpus[0].total_mib / 1024 if gpus else None
    return psutil.virtual_memory().total / 2**30


def checkpointing(cfg, cuda: bool, dims: dict | None, micro_batch_tokens: int, four_bit: bool) -> bool:
    """Whether the run recomputes activations: the setting, else only when keeping them would need more than
    KEEP_SHARE of the device's memory (or when the model's size or the device's memory is unknown)."""
    if cfg.gradient_checkpointing is not None:
        return bool(cfg.gradient_checkpointing)
    room = device_gib(cuda)
    if dims is None or room is None:
        return True
    return memory_gib(dims, four_bit, micro_batch_tokens, checkpointing=False) > KEEP_SHARE * room


def cpu_has_bf16_units() -> bool:
    """True where the CPU multiplies bfloat16 matrices natively (the avx512_bf16 or amx_bf16 flag of /proc/cpuinfo;
    read from the file, so the studio's own process needs no torch). STUDIO_CPU_BF16=off keeps float32 (for
    side-by-side measurements: bench/gpu_step.py)."""
    if os.environ.get("STUDIO_CPU_BF16", "on") == "off":
        return False
    return bool(_cpu_flags() & {"avx512_bf16", "amx_bf16"})


@functools.lru_cache(maxsize=1)
def _cpu_flags() -> frozenset:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:  # not Linux: float32, as before
        return frozenset()
    line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return frozenset(line.partition(":")[2].split())


def held_as(cuda: bool, four_bit: bool, checkpointed: bool) -> str:
    """How the base model is held, as a key of the speed history (core.train.estimate): runs held otherwise run at
    other speeds."""
    precision = "4bit" if four_bit else ("16bit" if cuda else ("bf16" if cpu_has_bf16_units() else "fp32"))
    return precision + ("" if checkpointed else "-kept")


def base_dtype(cuda: bool):
    """The dtype to load the base weights in: None (Unsloth's choice) on a GPU, bfloat16 or float32 on a CPU."""
    import torch

    if cuda:
        return None
    return torch.bfloat16 if cpu_has_bf16_units() else torch.float32


def describe(dtype, four_bit: bool, checkpointed: bool) -> str:
    """For the run's log: how the base model is held, and why."""
    if four_bit:
        held = "base weights in 4-bit"
    elif dtype is None:
        held = "base weights in 16-bit"
    elif str(dtype) == "torch.bfloat16":
        held = "base weights in bfloat16 (this CPU has bfloat16 matrix units)"
    else:
        held = "base weights in float32 (this CPU has no bfloat16 matrix units)"
    return held + (", gradient checkpointing on" if checkpointed else ", activations kept (no checkpointing)")


def attention_kernels(dtype):
    """The attention kernels a step may use: on a CPU in bfloat16, torch's plain matrix-product attention, which beats
    its flash kernel on the short rows of question/SQL pairs (100-160 tokens, the bundled model's heads: 4.2 against
    7.0 ms forward and backward at 100 tokens, 8.3 against 11.8 at 160, measured on 2 cores); elsewhere torch's choice.
    STUDIO_CPU_ATTENTION=flash keeps torch's choice (for side-by-side measurements)."""
    if str(dtype) != "torch.bfloat16" or os.environ.get("STUDIO_CPU_ATTENTION") == "flash":
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: PLC0415 - torch only where a model trains

    return sdpa_kernel([SDPBackend.MATH])
