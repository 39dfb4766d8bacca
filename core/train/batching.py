"""How many pairs one optimizer step sees: the batch plan shared by the trainer and the UI's plan line.

Short question/SQL pairs (~100-300 tokens) leave a GPU idle when batched a few pairs at a time: what sets
the speed is tokens per micro-batch (docs/ARCHITECTURE.md, section 7; measured in docs/BENCHMARKS.md, "Issue 5").
So on a GPU, pairs are packed end to end (padding-free; Unsloth keeps attention inside each pair) into
micro-batches of a token budget chosen from
the data: large enough to keep the GPU busy, small enough that one epoch still has about
MIN_STEPS_PER_EPOCH optimizer steps, so the user's steps and learning-rate schedule stay meaningful.
Without a GPU (Unsloth turns packing off on CPU) the plan is the classic batch size x accumulation.
"""

import math
import statistics
from dataclasses import dataclass

# Micro-batch token budget bounds for the automatic choice. 16k tokens per micro-batch is where a 7B
# 4-bit LoRA step on an H100 stops being launch-bound (docs/BENCHMARKS.md, "Issue 5": 10.8k tokens/s at ~15k tokens
# per micro-batch vs 5.2k at 4k) and still needs under 8 GiB.
AUTO_MIN_TOKENS, AUTO_MAX_TOKENS = 4096, 16384
PACKED_SEQ_LENGTH = 8192  # longest packed row; a bigger budget packs several such rows per micro-batch
MIN_STEPS_PER_EPOCH = 20
DEFAULT_ROW_TOKENS = 200  # when the rows have not been measured yet


@dataclass(frozen=True)
class BatchPlan:
    packing: bool
    max_length: int  # SFTConfig max_length: the packed row length when packing, else the row cut-off
    per_device_batch: int  # rows per micro-batch (packed rows when packing)
    grad_accum: int
    micro_batch_tokens: int  # the budget (packing) or rows x mean row length (no packing)
    pairs_per_step: float  # across all devices
    tokens_per_step: float
    devices: int = 1

    def epochs(self, steps: int, rows: int) -> float:
        return steps * self.pairs_per_step / max(rows, 1)

    def steps_for_epochs(self, epochs: float, rows: int) -> int:
        return max(1, math.ceil(epochs * rows / max(self.pairs_per_step, 1e-9)))

    def describe(self) -> str:
        gpus = f" x {self.devices} devices" if self.devices > 1 else ""
        if self.packing:
            return (
                f"pairs are packed into micro-batches of {self.micro_batch_tokens:,} tokens "
                f"({self.per_device_batch} x {self.max_length:,}-token rows) x accumulation {self.grad_accum}"
                f"{gpus}: one step sees about {self.pairs_per_step:,.0f} pairs"
            )
        return (
            f"one step sees {self.pairs_per_step:.0f} pairs (batch {self.per_device_batch} x accumulation "
            f"{self.grad_accum}{gpus})"
        )


def auto_batch_tokens(total_tokens: int, grad_accum: int) -> int:
    """Token budget per micro-batch: the dataset spread over MIN_STEPS_PER_EPOCH steps, within bounds."""
    per_micro = total_tokens / (MIN_STEPS_PER_EPOCH * max(grad_accum, 1))
    return int(min(AUTO_MAX_TOKENS, max(AUTO_MIN_TOKENS, per_micro // 1024 * 1024)))


def plan_batches(cfg, token_lengths: list[int], cuda: bool, devices: int = 1) -> BatchPlan:
    """The batch plan for a TrainConfig on this machine, from the rows' token lengths. With several devices (DDP)
    each takes the same micro-batch, so one step sees `devices` times the pairs."""
    mean = statistics.fmean(token_lengths) if token_lengths else DEFAULT_ROW_TOKENS
    packing = cuda and (cfg.packing if cfg.packing is not None else True)
    devices = max(devices, 1)
    if not packing:
        pairs = cfg.batch_size * cfg.grad_accum * devices
        return BatchPlan(
            False,
            cfg.max_seq_length,
            cfg.batch_size,
            cfg.grad_accum,
            int(cfg.batch_size * mean),
            pairs,
            pairs * mean,
            devices,
        )
    # the budget spreads the dataset over ~MIN_STEPS_PER_EPOCH steps across all the devices
    budget = cfg.batch_tokens or auto_batch_tokens(int(mean * len(token_lengths) / devices), cfg.grad_accum)
    # a packed row must hold the longest allowed pair; beyond PACKED_SEQ_LENGTH, add rows instead
    row_length = max(cfg.max_seq_length, min(PACKED_SEQ_LENGTH, budget))
    rows = max(1, budget // row_length)
    tokens = rows * row_length * cfg.grad_accum * devices
    return BatchPlan(
        True, row_length, rows, cfg.grad_accum, rows * row_length, tokens / mean, tokens, devices
    )
