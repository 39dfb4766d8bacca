"""Benchmark: a CPU training step next to another CPU-heavy process, with the worker's CPU policy and without it.

    .venv/bin/python bench/cpu_contention.py [--steps 16] [--reps 1]

The bundled model trains on the sample data (the CPU defaults: batch 4, prompts that name the database) for a few
steps, alone and next to a burner process (another torch job: matrix products on every core, as a second training
or a test suite would be). Each is run with the worker's policy (core.train.threads: OpenMP threads wait passively,
torch uses the idle cores) and with it turned off (STUDIO_CPU_POLICY=off: torch's defaults, spinning threads). The
figure is the median seconds per step after the first two; the ratio to "alone" is what a person feels. Appends a
table to docs/BENCHMARKS.md.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.record import record  # noqa: E402 - after the path is set

BURNER = (
    "import torch, time\n"
    "a = torch.randn(1024, 1024)\n"
    "end = time.time() + 3600\n"
    "while time.time() < end:\n"
    "    a = torch.tanh(a @ a)\n"
)


def seconds_per_step(steps: int) -> tuple[float, str]:
    """(median seconds per step after the first two, the worker's thread line) of one short run."""
    from core.config import TrainConfig
    from core.paths import SAMPLE_PAIRS, SAMPLE_SCHEMA
    from core.train import Engine

    engine = Engine()
    engine.start(
        TrainConfig(
            data_path=str(SAMPLE_PAIRS),
            schema_path=str(SAMPLE_SCHEMA),
            max_steps=steps,
            batch_size=4,
            grad_accum=1,
            learning_rate=1e-3,
            schema_in_prompt="none",
            max_seq_length=512,
            eval_fraction=0.0,
            checkpoint_every=0,
            experiment="bench-cpu",
            run_name=f"contention-{time.strftime('%H%M%S')}",
        )
    )
    snap = engine.wait(timeout=1800)
    if snap["status"] != "completed":
        raise RuntimeError(f"the run {snap['status']}: {snap['error']}")
    times = [t for _, t in sorted(engine._state.logged_at.items())]  # noqa: SLF001 - the worker's step times
    gaps = [b - a for a, b in zip(times[2:], times[3:], strict=False)]
    line = next((x for x in snap["log_lines"] if "thread" in x), "torch's defaults (policy off)")
    return statistics.median(gaps), line.split(" ", 1)[-1]


def measure(policy: bool, burner: bool, steps: int) -> tuple[float, str]:
    os.environ.pop("STUDIO_CPU_POLICY", None) if policy else os.environ.update(STUDIO_CPU_POLICY="off")
    process = subprocess.Popen([sys.executable, "-c", BURNER]) if burner else None
    try:
        time.sleep(3 if burner else 0)  # the burner is busy before the run starts, as a running job would be
        return seconds_per_step(steps)
    finally:
        if process is not None:
            process.kill()
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=16)
    args = parser.parse_args()
    os.environ.setdefault("STUDIO_DATA_DIR", str(ROOT / "data" / "bench"))
    os.environ.setdefault("STUDIO_MLFLOW_PORT", "5077")
    from core.tracking import ensure_server

    ensure_server()
    rows = []
    for policy in (False, True):
        alone, _ = measure(policy, False, args.steps)
        busy, line = measure(policy, True, args.steps)
        rows.append((policy, alone, busy, line))
        print(rows[-1], flush=True)
    lines = [
        f"\n### A CPU step next to another busy process ({time.strftime('%Y-%m-%d')}, this 2-core x86_64 "
        "machine)\n",
        f"Command: `.venv/bin/python bench/cpu_contention.py --steps {args.steps}` (bundled model, "
        "sample data, batch 4, the database named in the prompt; the burner is another torch process doing "
        "matrix products on every core). Median seconds per step after the first two.\n",
        "| worker's CPU policy | alone | next to the burner | slowdown | what the worker chose |",
        "|---|---|---|---|---|",
    ]
    for policy, alone, busy, line in rows:
        lines.append(
            f"| {'on (passive OpenMP wait, idle cores)' if policy else 'off (torch defaults)'} | "
            f"{alone:.2f} s | {busy:.2f} s | **{busy / alone:.1f}x** | {line} |"
        )
    record("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
