"""Benchmark: where one training step goes on a GPU, and what each setting buys (issue 37).

Runs the studio's own trainer (`core.train.trainer.run_training`, in-process, MLflow journal only) on a model folder,
once per variant of the settings, each in a fresh process (Unsloth's patches and the CUDA caches start clean). For
each variant: non-padding tokens/s after the warm-up steps, seconds per step, tokens per step, peak GPU memory and
MFU (6 x matmul parameters x tokens/s over the card's dense bf16 peak). With `--profile VARIANT` one step of that
variant runs under the torch profiler: the GPU's busy share of the step and the operations that take the most time.

    python bench/train_throughput.py make-model --shape 135m --model /tmp/bench-model-135m
    python bench/gpu_step.py --model /tmp/bench-model-135m --shape 135m \
        --variants today,16bit,16bit-nockpt,64k --profile today
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.train_throughput import H100_BF16_PEAK, bench_data, matmul_params  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# TrainConfig fields per variant, on top of the settings the studio recommends for the model on this machine (no
# evaluation, no checkpoints).
VARIANTS = {
    "today": {"load_in_4bit": True, "gradient_checkpointing": True},  # the GPU defaults before issue 37
    "16bit": {"load_in_4bit": False, "gradient_checkpointing": True},
    "16bit-nockpt": {"load_in_4bit": False, "gradient_checkpointing": False},
    "32k": {"load_in_4bit": False, "gradient_checkpointing": False, "batch_tokens": 32768, "grad_accum": 1},
    "64k": {"load_in_4bit": False, "gradient_checkpointing": False, "batch_tokens": 65536, "grad_accum": 1},
    "128k": {"load_in_4bit": False, "gradient_checkpointing": False, "batch_tokens": 131072, "grad_accum": 1},
    "64k-ckpt": {
        "load_in_4bit": False,
        "gradient_checkpointing": True,
        "batch_tokens": 65536,
        "grad_accum": 1,
    },
    "64k-4bit": {
        "load_in_4bit": True,
        "gradient_checkpointing": False,
        "batch_tokens": 65536,
        "grad_accum": 1,
    },
    "auto": {},  # whatever the studio's defaults choose for this model on this machine
    # a CPU before issue 37: float32 weights, checkpointing on; then each change alone
    "cpu-before": {"gradient_checkpointing": True, "env": {"STUDIO_CPU_BF16": "off"}},
    "cpu-bf16": {"gradient_checkpointing": True},
    "cpu-nockpt": {"gradient_checkpointing": False, "env": {"STUDIO_CPU_BF16": "off"}},
    "cpu-flash": {
        "env": {"STUDIO_CPU_ATTENTION": "flash"}
    },  # the studio's CPU choices, torch's attention kernel
}


def step_callbacks(profile_step: int, out: Path):
    """A step timer, and the torch profiler around one optimizer step when `profile_step` > 0."""
    import torch
    from transformers import TrainerCallback

    cuda = torch.cuda.is_available()

    class Steps(TrainerCallback):
        marks: list[tuple[float, int, int]] = []
        cpu: list[float] = []
        profiler = None

        def on_step_begin(self, args, state, control, **kw):
            if profile_step and state.global_step + 1 == profile_step:
                activities = [torch.profiler.ProfilerActivity.CPU]
                if cuda:
                    torch.cuda.synchronize()
                    activities.append(torch.profiler.ProfilerActivity.CUDA)
                self.profiler = torch.profiler.profile(activities=activities)
                self.profiler.__enter__()
                self.began = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            if self.profiler is not None:
                if cuda:
                    torch.cuda.synchronize()
                wall = time.perf_counter() - self.began
                self.profiler.__exit__(None, None, None)
                events = self.profiler.key_averages()
                kernels = sum(e.self_device_time_total for e in events) / 1e6
                busy = f"GPU kernels {kernels:.3f} s ({kernels / wall:.0%} busy)" if cuda else "CPU only"
                by_gpu = events.table(
                    sort_by="self_device_time_total", row_limit=25, max_name_column_width=60
                )
                by_cpu = events.table(sort_by="self_cpu_time_total", row_limit=25, max_name_column_width=60)
                out.with_suffix(".profile.txt").write_text(
                    f"step wall {wall:.3f} s, {busy}\n\n{by_gpu if cuda else ''}\n\nby CPU time:\n{by_cpu}\n"
                )
                self.profiler = None
            self.marks.append((time.perf_counter(), state.global_step, int(state.num_input_tokens_seen or 0)))
            self.cpu.append(
                time.process_time()
            )  # CPU seconds of this process: next to another busy process the
            # wall time per step grows, the CPU time it takes much less

    return Steps()


def run_variant(a) -> None:
    """One variant in this process: the studio's trainer, journal only."""
    from core.config import TrainConfig
    from core.paths import outputs_dir
    from core.runstate import RunState
    from core.train.trainer import run_training

    out = Path(a.json)
    timer = step_callbacks(a.profile_step, out)
    import torch

    from core.defaults import recommended_settings

    settings = {
        # the studio's settings for this model on this machine, then the run's base settings and the variant's
        **{
            k: v
            for k, v in recommended_settings(a.model, torch.cuda.is_available()).items()
            if k != "max_steps"
        },
        "data_path": str(bench_data(a.rows)),
        "schema_path": str(ROOT / "assets/sample_schema.sql"),
        "model": a.model,
        "max_steps": a.steps,
        "eval_fraction": 0.0,
        "checkpoint_every": 0,
        "evaluate_after": False,
        "grpo_steps": 0,  # the supervised step alone
        "experiment": "bench-gpu-step",
        **{k: v for k, v in VARIANTS[a.variant].items() if k != "env"},
    }
    folder = outputs_dir() / f"bench-step-{time.time_ns()}"
    folder.mkdir(parents=True)
    state = RunState(status="starting", job_id=folder.name, started_at=time.time())
    run_training(TrainConfig(**settings), state, threading.Event(), folder, (timer,), send=False)
    if state.status != "completed":
        raise SystemExit(f"{a.variant} ended {state.status}: {state.error}")
    (t0, s0, n0), (t1, s1, n1) = timer.marks[a.warmup - 1], timer.marks[-1]
    result = {
        "variant": a.variant,
        "tokens_per_s": (n1 - n0) / (t1 - t0),
        "s_per_step": (t1 - t0) / (s1 - s0),
        "tokens_per_step": (n1 - n0) / (s1 - s0),
        "tokens_per_cpu_s": (n1 - n0) / (timer.cpu[-1] - timer.cpu[a.warmup - 1]),
        "peak_gib": torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else 0.0,
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "log": [line for line in state.log_lines if "micro-batches" in line or "one step" in line][:1],
    }
    out.write_text(json.dumps(result))


def measure(a, variant: str) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        target = Path(f.name)
    cmd = [
        sys.executable,
        __file__,
        "--one",
        variant,
        "--model",
        a.model,
        "--shape",
        a.shape,
        "--steps",
        str(a.steps),
        "--warmup",
        str(a.warmup),
        "--rows",
        str(a.rows),
        "--json",
        str(target),
        "--profile-step",
        str(a.warmup + 1 if variant in a.profile.split(",") else 0),
    ]
    started = time.time()
    env = {**os.environ, **VARIANTS[variant].get("env", {})}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"variant": variant, "error": f"timed out after {a.timeout} s"}
    if proc.returncode or not target.read_text():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"variant": variant, "error": " / ".join(tail)[:400]}
    result = json.loads(target.read_text())
    result["wall_s"] = round(time.time() - started, 1)
    result["mfu"] = result["tokens_per_s"] * 6 * matmul_params(a.shape) / H100_BF16_PEAK
    profile = target.with_suffix(".profile.txt")
    if profile.exists():
        result["profile"] = profile.read_text()
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--shape", default="135m", help="for the MFU: a shape of bench/train_throughput.py")
    p.add_argument("--variants", default="today,16bit,16bit-nockpt,64k")
    p.add_argument("--profile", default="", help="the variants (comma-separated) whose step is profiled")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rows", type=int, default=4000)
    p.add_argument("--timeout", type=int, default=300)
    p.add_argument("--one")
    p.add_argument("--json")
    p.add_argument("--profile-step", type=int, default=0)
    a = p.parse_args(argv)
    if a.one:
        a.variant = a.one
        run_variant(a)
        return 0
    for variant in a.variants.split(","):
        r = measure(a, variant)
        profile = r.pop("profile", "")
        print(json.dumps(r), flush=True)
        if profile:
            print(profile, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
