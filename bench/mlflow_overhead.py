"""Benchmark: how long the training thread is blocked by MLflow logging, per logged step (issue 5).

The trainer logs through transformers' MLflowCallback (`log_metrics(..., synchronous=False)`) and our
GuardedRun (`log_metric(..., synchronous=False)`). This times exactly those calls against a real local
`mlflow server`, next to the synchronous calls they replace, and relates them to measured step times.
Appends to docs/BENCHMARKS.md.

    .venv/bin/python bench/mlflow_overhead.py
"""

import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CALLS = 200
# Step times measured by bench/train_throughput.py (docs/BENCHMARKS.md): 7B 4-bit and 1.5B 16-bit on a GPU,
# and the bundled model on 2 CPU cores with the default batch.
STEP_SECONDS = {"7B 4-bit GPU step": 6.32, "1.5B 16-bit GPU step": 2.39, "bundled model, 2-core CPU step": 20.0}


def time_calls(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> int:
    import mlflow

    from core.tracking import ensure_server

    mlflow.set_tracking_uri(ensure_server())
    mlflow.set_experiment("bench-mlflow-overhead")
    metrics = {"loss": 1.0, "grad_norm": 0.5, "learning_rate": 2e-4, "epoch": 0.1}
    with mlflow.start_run():
        # one step's logging as the trainer does it: the callback's batch plus our tokens/s metric
        async_ms = time_calls(lambda i: (mlflow.log_metrics(metrics, step=i, synchronous=False),
                                         mlflow.log_metric("tokens_per_second", 1.0, step=i, synchronous=False)), CALLS)
        start = time.perf_counter()
        mlflow.flush_async_logging()
        flush_s = time.perf_counter() - start
        sync_ms = time_calls(lambda i: (mlflow.log_metrics(metrics, step=CALLS + i),
                                        mlflow.log_metric("tokens_per_second", 1.0, step=CALLS + i)), CALLS // 4)

    def p95(xs):
        return sorted(xs)[int(len(xs) * 0.95) - 1]

    lines = ["| logging one step (4 metrics + tokens/s) | mean ms | p95 ms |", "|---|---|---|",
             f"| asynchronous (what the trainer does), {CALLS} steps | {statistics.fmean(async_ms):.2f} | "
             f"{p95(async_ms):.2f} |",
             f"| synchronous (for comparison), {CALLS // 4} steps | {statistics.fmean(sync_ms):.2f} | {p95(sync_ms):.2f} |"]
    share = "; ".join(f"{name} ({sec:g} s): {statistics.fmean(async_ms) / 1000 / sec:.4%}"
                      for name, sec in STEP_SECONDS.items())
    text = (f"\n### MLflow logging cost on the training thread ({time.strftime('%Y-%m-%d')}, {platform.machine()}, "
            f"{os.cpu_count()} cores, local `mlflow server`)\n\nCommand: `.venv/bin/python bench/mlflow_overhead.py`\n\n"
            + "\n".join(lines) + f"\n\nThe queued points reached the server {flush_s:.2f} s after the last call "
            f"(flush). Share of a step spent blocked in logging (async mean / step time): {share}.\n")
    print(text)
    out = ROOT / "docs" / "BENCHMARKS.md"
    out.write_text(out.read_text() + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
