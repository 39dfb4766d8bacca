"""Benchmark: is the page responsive while a training runs? N browsers load the page at once (GET / and its
config) and each fires the live-view event the Train tab's timer fires (engine snapshot + MLflow metric history),
through Gradio's own HTTP protocol. Prints p50/p95/max and appends them to docs/BENCHMARKS.md.

    .venv/bin/python bench/page_load.py [--clients 20] [--rounds 3]

`measure()` is also used by tests/test_concurrency.py (one round of 20) so the figure is checked in CI.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.record import record  # noqa: E402 - after the path is set

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def page_event(base_url: str, api_name: str = "live", timeout: float = 60.0) -> tuple[float, float]:
    """(page load seconds, event seconds) for one simulated browser."""
    import httpx

    base = base_url.rstrip("/")
    with httpx.Client(timeout=timeout) as http:
        start = time.perf_counter()
        http.get(base + "/").raise_for_status()
        http.get(base + "/config").raise_for_status()
        loaded = time.perf_counter()
        event = http.post(f"{base}/gradio_api/call/{api_name}", json={"data": []})
        event.raise_for_status()
        event_id = event.json()["event_id"]
        with http.stream("GET", f"{base}/gradio_api/call/{api_name}/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event: error"):
                    raise RuntimeError(f"the {api_name} event failed")
                if line.startswith("event: complete"):
                    break
        done = time.perf_counter()
    return loaded - start, done - loaded


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def measure(base_url: str, clients: int = 20, rounds: int = 1) -> dict:
    """`clients` simultaneous page loads + events, `rounds` times. Seconds."""
    loads, events = [], []
    with ThreadPoolExecutor(clients) as pool:
        for _ in range(rounds):
            for load, event in pool.map(lambda _: page_event(base_url), range(clients)):
                loads.append(load)
                events.append(event)
    return {
        "clients": clients,
        "samples": len(events),
        "load_p50": statistics.median(loads),
        "load_p95": percentile(loads, 95),
        "load_max": max(loads),
        "event_p50": statistics.median(events),
        "event_p95": percentile(events, 95),
        "event_max": max(events),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from app.ui import build_app
    from core.config import TrainConfig
    from core.tracking import ensure_server
    from core.train import get_engine
    from tests.conftest import free_port

    ensure_server()
    demo = build_app()
    demo.queue(default_concurrency_limit=8)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    idle = measure(url, args.clients, 1)
    engine = get_engine()
    engine.start(
        TrainConfig(
            data_path=str(ROOT / "assets/sample_pairs.jsonl"),
            max_steps=1000,
            batch_size=1,
            grad_accum=1,
            max_seq_length=512,
            eval_fraction=0,
            experiment="bench-ui",
            checkpoint_every=0,
        )
    )
    while engine.snapshot()["step"] < 2:
        time.sleep(0.5)
    busy = measure(url, args.clients, args.rounds)
    steps = engine.snapshot()["step"]
    engine.stop()
    engine.wait()
    demo.close()
    print(json.dumps({"idle": idle, "training": busy}, indent=1))
    text = (
        f"\n### Page responsiveness while training ({time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores)\n\nCommand: `.venv/bin/python bench/page_load.py --clients {args.clients} "
        f"--rounds {args.rounds}` ({busy['samples']} page loads + live-view events; the bundled model trained "
        f"meanwhile, {steps} steps)\n\n| | page load p50 | p95 | event p50 | p95 | max |\n|---|---|---|---|---|---|\n"
        f"| idle | {idle['load_p50']:.2f} s | {idle['load_p95']:.2f} s | {idle['event_p50']:.2f} s | "
        f"{idle['event_p95']:.2f} s | {idle['event_max']:.2f} s |\n"
        f"| training | {busy['load_p50']:.2f} s | {busy['load_p95']:.2f} s | {busy['event_p50']:.2f} s | "
        f"{busy['event_p95']:.2f} s | {busy['event_max']:.2f} s |\n"
    )
    record(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
