"""Benchmark: a queue of three runs of one base model on a GPU (issue 26, item 5), as the studio runs it.

The base is Qwen2.5-Coder-7B's shape with random weights, pre-quantized bitsandbytes 4-bit (bench/gpu_path.py makes
it). Three queue items with the same base, 10 steps each, no evaluation, run by the queue's runner through the
engine: the first item in the kept-ready standby worker, which stays resident with the base loaded for the next items
of the same base (core.train.resident); the last item has another LoRA rank. Per item: Start to first
step and the worker's peak GPU memory (from its job folder); over the whole queue: the device's peak memory in use
(nvidia-smi, every 0.5 s), and the memory in use before the queue and 10 s after it ends.

    python bench/queue_gpu.py [--steps 10] [--items 3]      # prints JSON; writes $OUT/queue_gpu.json when set
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
from bench.gpu_path import job_figures, make_models  # noqa: E402


def gpu_used_gib() -> float:
    out = subprocess.run(
        ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
        check=True,
    )
    return round(int(out.stdout.split()[0]) / 1024, 2)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--items", type=int, default=3)
    a = p.parse_args()
    scratch = Path(tempfile.gettempdir())
    os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{scratch / 'queue-gpu-mlflow.db'}")
    os.environ.setdefault("STUDIO_DATA_DIR", str(scratch / "queue-gpu-data"))
    _, four = make_models("7b")

    from core.config import TrainConfig
    from core.train import get_engine
    from core.train.queue import Queue, QueueRunner, update

    cfg = TrainConfig(
        data_path=str(ROOT / "assets" / "sample_pairs.jsonl"),
        schema_path=str(ROOT / "assets" / "sample_schema.sql"),
        model=str(four),
        max_steps=a.steps,
        eval_fraction=0.05,
        evaluate_after=False,
        checkpoint_every=0,
        experiment="queue-gpu",
    )
    Queue().save()
    update(  # the last item has another LoRA rank: a resident worker puts LoRA layers of a new shape on its base
        lambda q: [
            q.add(
                TrainConfig.from_dict(
                    {
                        **cfg.to_dict(),
                        "run_name": f"item-{n}",
                        **({"rank": 32, "alpha": 64} if n == a.items - 1 and n else {}),
                    }
                )
            )
            for n in range(a.items)
        ]
    )
    engine = get_engine()
    engine.prewarm()
    time.sleep(20)  # the standby worker imports Unsloth, as it does once the studio's page is up
    before = gpu_used_gib()
    peak, done = [before], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], gpu_used_gib())
            time.sleep(0.5)

    threading.Thread(target=sample, daemon=True).start()
    started = time.time()
    runner = QueueRunner(engine)
    runner.start()
    queue = runner.wait(timeout=3000)
    total = time.time() - started
    done.set()
    time.sleep(10)
    after = gpu_used_gib()
    items = []
    for item in queue.items:
        figures = (
            job_figures(Path(os.environ["STUDIO_DATA_DIR"]) / "outputs" / item.job_id) if item.job_id else {}
        )
        log = (
            (Path(os.environ["STUDIO_DATA_DIR"]) / "outputs" / item.job_id / "log.txt")
            if item.job_id
            else None
        )
        reused = bool(log and log.exists() and "still loaded" in log.read_text(encoding="utf-8"))
        items.append(
            {
                "item": item.cfg.run_name,
                "rank": item.cfg.rank,
                "status": item.status,
                "message": item.message,
                "base_kept_loaded": reused,
                **figures,
            }
        )
    result = {
        "gpu": subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True
        ).stdout.strip(),
        "items": items,
        "queue_s": round(total, 1),
        "gpu_used_before_gib": before,
        "gpu_used_peak_gib": peak[0],
        "gpu_used_after_gib": after,
    }
    print(json.dumps(result, indent=1), flush=True)
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "queue_gpu.json").write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
