"""Benchmark: how long the training thread is blocked by MLflow logging, per logged step (issue 5).

The trainer logs through the job's TrackedRun (core.tracking.run): each call appends to the job's journal and a
sync thread sends the points to MLflow (issue 6: nothing is lost while the server is away). This times exactly
those calls against a real local `mlflow server`, next to the synchronous calls they replace, and relates them
to measured step times. Appends to docs/BENCHMARKS.md.

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
from bench.record import record  # noqa: E402 - after the path is set

CALLS = 200
# Step times measured by bench/train_throughput.py (docs/BENCHMARKS.md): 7B 4-bit and 1.5B 16-bit on a GPU,
# and the bundled model on 2 CPU cores with the default batch.
STEP_SECONDS = {
    "7B 4-bit GPU step": 6.32,
    "1.5B 16-bit GPU step": 2.39,
    "bundled model, 2-core CPU step": 20.0,
}


def time_calls(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> int:
    import tempfile

    import mlflow

    from core.runstate import RunState
    from core.tracking import ensure_server
    from core.tracking.run import TrackedRun

    uri = ensure_server()
    mlflow.set_tracking_uri(uri)
    metrics = {"loss": 1.0, "grad_norm": 0.5, "learning_rate": 2e-4, "epoch": 0.1, "tokens_per_second": 1.0}
    run = TrackedRun(Path(tempfile.mkdtemp(prefix="bench-journal-")), RunState(), uri)
    run.open("bench-mlflow-overhead", "journal")

    def one_step(i):  # one step's logging as the trainer does it: every number of the step's logs
        for key, value in metrics.items():
            run.log_metric(key, value, i)

    async_ms = time_calls(one_step, CALLS)
    start = time.perf_counter()
    run.close("FINISHED", wait_s=600)
    flush_s = time.perf_counter() - start
    client = mlflow.MlflowClient(uri)
    sync_run = client.create_run(client.get_experiment_by_name("bench-mlflow-overhead").experiment_id)
    sync_ms = time_calls(
        lambda i: [client.log_metric(sync_run.info.run_id, k, v, step=i) for k, v in metrics.items()],
        CALLS // 4,
    )
    client.set_terminated(sync_run.info.run_id)

    def p95(xs):
        return sorted(xs)[int(len(xs) * 0.95) - 1]

    lines = [
        "| logging one step (4 metrics + tokens/s) | mean ms | p95 ms |",
        "|---|---|---|",
        f"| journal + sync thread (what the trainer does), {CALLS} steps | {statistics.fmean(async_ms):.2f} | "
        f"{p95(async_ms):.2f} |",
        f"| synchronous (for comparison), {CALLS // 4} steps | {statistics.fmean(sync_ms):.2f} | {p95(sync_ms):.2f} |",
    ]
    share = "; ".join(
        f"{name} ({sec:g} s): {statistics.fmean(async_ms) / 1000 / sec:.4%}"
        for name, sec in STEP_SECONDS.items()
    )
    text = (
        f"\n### MLflow logging cost on the training thread ({time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores, local `mlflow server`)\n\nCommand: `.venv/bin/python bench/mlflow_overhead.py`\n\n"
        + "\n".join(lines)
        + f"\n\nThe queued points reached the server {flush_s:.2f} s after the last call "
        f"(flush). Share of a step spent blocked in logging (journal mean / step time): {share}.\n"
    )
    record(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
