"""Benchmark: chart lag (trainer logs a loss -> the point is in the chart's data, read from MLflow), time to
validate + preview 10,000 and 100,000 pairs, and app start-up time to first page. Appends to docs/BENCHMARKS.md.

    .venv/bin/python bench/ui_latency.py
    .venv/bin/python bench/ui_latency.py first-page [--against OTHER_CHECKOUT]   (fresh starts, alternating)
    .venv/bin/python bench/ui_latency.py validate [--runs 3]   (100,000 pairs of three kinds, 10,000 pairs)
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.record import record  # noqa: E402 - after the path is set

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def chart_lag(steps: int = 12) -> list[float]:
    from app.train_tab import chart_data
    from core.config import TrainConfig
    from core.train import Engine

    engine = Engine()
    engine.start(
        TrainConfig(
            data_path=str(ROOT / "assets/sample_pairs.jsonl"),
            max_steps=steps,
            batch_size=1,
            grad_accum=1,
            max_seq_length=512,
            eval_fraction=0,
            experiment="bench-ui",
        )
    )
    seen: dict[int, float] = {}
    while engine.busy or len(seen) < steps:
        snap = engine.snapshot()
        if snap["mlflow_run_id"]:
            for step, _ in chart_data(snap["mlflow_run_id"])["loss"]:
                seen.setdefault(int(step), time.time())
        if not engine.busy and time.time() - snap["finished_at"] > 10:
            break
        time.sleep(0.1)
    logged = engine._state.logged_at  # noqa: SLF001 - benchmark reads the worker's timestamps
    return [seen[s] - logged[s] for s in sorted(logged) if s in seen]


# How the 100,000 SQL strings differ (all distinct, so the findings cache by SQL text cannot help):
VARIANTS = {
    # only by a trailing comment: one shape per sample query (the benchmark as first written)
    "comment": lambda sql, i: f"{sql} -- variant {i}",
    # by a value, as generated pairs do: still one shape per sample query
    "value": lambda sql, i: f"SELECT * FROM ({sql}) AS q LIMIT {i + 1}",
    # by a name: every query its own shape, so every one is parsed (the worst case)
    "name": lambda sql, i: f"SELECT q.*, {i} AS v{i} FROM ({sql}) AS q",
}


def validate_preview(n: int, variant: str = "comment") -> tuple[float, float]:
    """(seconds to load, validate and preview n pairs; seconds to validate them again after a template change)."""
    from app.common import Dataset
    from app.data_tab import outputs_for, validate_dataset
    from app.preview_tab import render_preview
    from core.data import load_pairs

    base = [json.loads(line) for line in (ROOT / "assets/sample_pairs.jsonl").read_text().splitlines()]
    rows = [
        {
            "question": f"{base[i % len(base)]['question']} (variant {i})",
            "sql": VARIANTS[variant](base[i % len(base)]["sql"], i),
        }
        for i in range(n)
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))
    ddl = (ROOT / "assets/sample_schema.sql").read_text()
    template = "You are a {dialect} SQL expert. Use this schema:\n{schema}"
    start = time.perf_counter()
    ds = Dataset(path=f.name, name="bench", pairs=load_pairs(f.name), schema_ddl=ddl)
    ds = validate_dataset(ds, "bundled", 2048, template)
    outputs_for(ds, "", True, 2048)  # what the Data tab shows: summary, findings table, token histogram
    render_preview(ds, n // 2, template, "bundled", 2048)
    first = time.perf_counter() - start
    start = time.perf_counter()
    other = "You write {dialect} SQL for this schema:\n{schema}"
    ds = validate_dataset(ds, "bundled", 2048, other)  # what the Data tab does when the template is edited
    outputs_for(ds, "", True, 2048)
    render_preview(ds, n // 2, other, "bundled", 2048)
    os.unlink(f.name)
    return first, time.perf_counter() - start


def warm_studio() -> None:
    """What a running studio has done before the user's file arrives: the bundled tokenizer converted and loaded,
    the chat-template renderer imported (app/__main__.py imports it once the page is up)."""
    from core.train import load_tokenizer
    from core.train.tokenizer import import_renderer

    load_tokenizer("bundled")
    import_renderer()


def validation(runs: int) -> None:
    """Validate + preview, each kind of 100,000 pairs `runs` times (fresh caches each time), then 10,000 pairs."""
    from core.data import chatml, validate

    warm_studio()
    rows = []
    for n, variant in [(100_000, v) for v in VARIANTS] + [(10_000, "comment")]:
        firsts, agains = [], []
        for _ in range(runs):
            validate._FINDINGS.clear()  # noqa: SLF001 - each run starts as a first validation
            chatml._piece_lengths.clear()  # noqa: SLF001
            first, again = validate_preview(n, variant)
            firsts.append(first)
            agains.append(again)
            print(n, variant, f"{first:.2f} s, again {again:.2f} s", flush=True)
        rows.append(
            f"| {n:,} | {variant} | {', '.join(f'{t:.1f}' for t in firsts)} | "
            f"**{statistics.median(firsts):.1f} s** | {statistics.median(agains):.1f} s |\n"
        )
    record(
        f"\n### Validate + preview ({time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores)\n\n"
        f"Command: `.venv/bin/python bench/ui_latency.py validate --runs {runs}`\n\n"
        "| pairs | SQL strings differ by | first validation, each run (s) | median | again after a template change |\n"
        "|---|---|---|---|---|\n" + "".join(rows)
    )


def startup(root: Path = ROOT, fresh: bool = False) -> float:
    """Seconds from `python -m app` (of the checkout `root`, with its own .venv when it has one) to the first 200
    from `/`. `fresh`: a new data folder and a free MLflow port, so the studio starts its own MLflow server as on a
    first `make run`; otherwise it reuses the one this process started."""
    from tests.conftest import free_port

    port, env = free_port(), dict(os.environ)
    if fresh:
        env.pop("MLFLOW_TRACKING_URI", None)
        env.update(
            STUDIO_DATA_DIR=tempfile.mkdtemp(prefix="first-page-"), STUDIO_MLFLOW_PORT=str(free_port())
        )
    python = root / ".venv" / "bin" / "python"
    start = time.time()
    process = subprocess.Popen(
        [str(python) if python.exists() else sys.executable, "-m", "app", "--port", str(port)],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while time.time() - start < 120:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as r:
                    if r.status == 200:
                        return time.time() - start
            except OSError:
                time.sleep(0.05)
        return float("nan")
    finally:
        process.terminate()
        process.wait(timeout=30)
        if fresh:  # its MLflow server and standby worker, so the next run starts on an idle machine
            subprocess.run(["pkill", "-f", "--", env["STUDIO_DATA_DIR"]], check=False)
            subprocess.run(["pkill", "-f", "core.job.worker --standby"], check=False)
            time.sleep(6)


def first_page(against: Path | None, runs: int = 5) -> None:
    """First page after a fresh start, this checkout alternating with another one (e.g. a clone of an earlier
    commit), so both see the same machine."""
    roots = {"this checkout": ROOT, **({f"`{against.name}`": against} if against else {})}
    times: dict[str, list[float]] = {label: [] for label in roots}
    for _ in range(runs):
        for label, root in roots.items():
            times[label].append(startup(root, fresh=True))
            print(label, f"{times[label][-1]:.2f} s", flush=True)
    rows = "".join(
        f"| {label} | {', '.join(f'{t:.2f}' for t in ts)} | {statistics.median(ts):.2f} s |\n"
        for label, ts in times.items()
    )
    record(
        f"\n### First page after a fresh start ({time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores)\n\nCommand: `.venv/bin/python bench/ui_latency.py first-page"
        f"{' --against CHECKOUT' if against else ''}`\n\n| version | runs (s) | median |\n|---|---|---|\n{rows}"
    )


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", default="all", choices=["all", "first-page", "validate"])
    parser.add_argument("--against", type=Path, help="first-page: another checkout to alternate with")
    parser.add_argument("--runs", type=int, default=3, help="validate: runs of each kind")
    args = parser.parse_args(argv)
    if args.what == "first-page":
        first_page(args.against)
        return 0
    if args.what == "validate":
        validation(args.runs)
        return 0
    from core.tracking import ensure_server

    ensure_server()
    warm_studio()  # the figures are for a running app, not for the first-ever conversion
    starts = [startup() for _ in range(3)]
    lags = chart_lag()
    sizes = {n: validate_preview(n) for n in (10_000, 100_000)}
    text = (
        f"\n### UI and data latency ({time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores)\n\n"
        "Command: `.venv/bin/python bench/ui_latency.py`\n\n| what | figure |\n|---|---|\n"
        f"| start-up: `python -m app` to first page (3 runs; MLflow already up) | "
        f"{', '.join(f'{s:.2f} s' for s in starts)} |\n"
        f"| chart lag: trainer logs a loss -> point in the chart's data from MLflow ({len(lags)} steps) | "
        f"median {statistics.median(lags):.2f} s, max {max(lags):.2f} s |\n"
        f"| validate (sqlglot + token counts) and preview 10,000 pairs | {sizes[10_000][0]:.1f} s |\n"
        f"| validate and preview 100,000 pairs | {sizes[100_000][0]:.1f} s |\n"
        f"| the 100,000 pairs again after a template change | {sizes[100_000][1]:.1f} s |\n"
    )
    record(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
