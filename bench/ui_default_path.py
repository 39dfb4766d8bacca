"""Benchmark: the browser's default path gives what the command line gives (issue 39).

A newcomer's path, driven in a real browser (Debian's Chromium through Playwright) against `python -m app`: connect a
Spider dev database by its path, generate pairs with the Data tab's defaults, add them, train with the Train tab's
defaults (Start), wait for the run and its evaluation to end. Then the run's adapter answers every human question
Spider has for that database (none trained on; `python -m core evaluate --run RUN --data human.jsonl`), scored as the
CLI bench scores (bench/generated_pairs.py). The figure stands beside the CLI's for the same database in
docs/BENCHMARKS.md.

    .venv/bin/python bench/ui_default_path.py --db concert_singer
"""

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.record import record  # noqa: E402 - after the path is set
from bench.spider_eval import SPIDER  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-sync"]


def spider_file(db_id: str, folder: Path) -> Path:
    path = folder / f"{db_id}.sqlite"
    con = sqlite3.connect(path)
    con.executescript((SPIDER / db_id / "schema.sql").read_text())
    con.close()
    return path


def start_studio(data: Path, port: int, tracking: str) -> subprocess.Popen:
    """`python -m app` with a data folder of its own (the converted bundled model shared, not converted again) and
    the bench's MLflow server."""
    models = ROOT / "data" / "models"
    if models.exists():
        (data / "models").symlink_to(models, target_is_directory=True)
    env = {**os.environ, "STUDIO_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", "MLFLOW_TRACKING_URI": tracking}
    log = open(data / "app.log", "w")  # noqa: SIM115 - written until the studio ends
    return subprocess.Popen(
        [sys.executable, "-m", "app", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def text(page, selector: str) -> str:
    return page.locator(selector).inner_text() if page.locator(selector).count() else ""


def drive(url: str, db_file: Path, shots: Path) -> dict:
    """The default path in the browser; what the page said at each step."""
    from playwright.sync_api import sync_playwright

    said = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.set_default_timeout(120_000)
        page.goto(url)
        page.locator("#db-url input, #db-url textarea").first.fill(str(db_file))
        page.locator("#db-connect").click()
        page.wait_for_function(
            "() => /Connected|rows/.test(document.querySelector('#db-message')?.innerText || '')",
            timeout=300_000,
        )
        said["connect"] = text(page, "#db-message")
        page.get_by_text("Generate pairs from my database").first.click()
        said["pairs_default"] = page.locator("#gen-n input").input_value()
        page.locator("#gen-btn").click()
        page.wait_for_function(
            "() => / pairs \\(/.test(document.querySelector('#gen-message')?.innerText || '')",
            timeout=300_000,
        )
        said["generate"] = text(page, "#gen-message")
        page.locator("#gen-add").click()
        page.wait_for_function(
            "() => / run on/.test(document.querySelector('#preflight')?.innerText || '')", timeout=600_000
        )
        said["added"] = text(page, "#preflight")
        page.get_by_role("tab", name="3. Train").click()
        page.wait_for_function("() => (document.querySelector('#plan')?.innerText || '').includes('steps')")
        said["plan"] = text(page, "#plan")
        page.screenshot(path=str(shots / "ui-default-plan.png"), full_page=True)
        page.locator("#start").click()
        page.wait_for_function(
            "() => /Completed|Stopped|Failed/.test(document.querySelector('#train-status')?.innerText || '')",
            timeout=3 * 3600_000,
            polling=5000,
        )
        said["outcome"] = text(page, "#outcome")
        page.screenshot(path=str(shots / "ui-default-done.png"), full_page=True)
        browser.close()
    return said


def latest_run(tracking_uri: str) -> str:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    runs = client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0].info.run_id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db", default="concert_singer", help="a Spider dev database of ../shared/data/spider_mini"
    )
    parser.add_argument("--port", type=int, default=7899)
    a = parser.parse_args()
    if not SPIDER.exists():
        print(f"no Spider data at {SPIDER}")
        return 2
    work = Path(tempfile.mkdtemp(prefix="ui-default-"))
    db_file = spider_file(a.db, work)
    data = work / "data"
    data.mkdir()
    os.environ["STUDIO_DATA_DIR"] = str(data)
    from core.tracking import ensure_server

    tracking = ensure_server()
    studio = start_studio(data, a.port, tracking)
    started = time.time()
    try:
        time.sleep(15)
        said = drive(f"http://127.0.0.1:{a.port}/", db_file, work)
        ui_minutes = (time.time() - started) / 60
        run_id = latest_run(tracking)
        human = work / "human.jsonl"
        human.write_text((SPIDER / a.db / "pairs.jsonl").read_text())
        env = {**os.environ, "MLFLOW_TRACKING_URI": tracking, "HF_HUB_OFFLINE": "1"}
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "core",
                "evaluate",
                "--run",
                run_id,
                "--data",
                str(human),
                "--no-base",
                "--candidates",
                "1",
                "--out",
                str(work / "rows.csv"),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=3600,
        )
    finally:
        studio.terminate()
        studio.wait(timeout=60)
    found = re.search(r"execution accuracy ([\d.]+)%", done.stdout)
    result = {
        "db": a.db,
        "human_questions": sum(1 for _ in human.open()),
        "adapter_on_human": float(found.group(1)) if found else None,
        "minutes_in_the_browser": round(ui_minutes, 1),
        **said,
    }
    print(json.dumps(result, indent=1))
    record(
        f"\n### The browser's default path, {a.db} ({time.strftime('%Y-%m-%d')}, this 2-core x86_64 CPU, bundled "
        "SmolLM2-135M-Instruct)\n\n"
        f"Command: `.venv/bin/python bench/ui_default_path.py --db {a.db}`. In Chromium: connect the database by its "
        "path, generate with the Data tab's defaults, add, Start with the Train tab's defaults; then the run's adapter "
        "answers all of the database's human questions (`core evaluate --run RUN --data human.jsonl`).\n\n"
        f"| database | pairs generated (default) | plan | adapter on {result['human_questions']} human questions "
        "| minutes in the browser |\n|---|---|---|---|---|\n"
        f"| {a.db} | {said.get('pairs_default')} | {said.get('plan', '').splitlines()[0][:160]} | "
        f"**{result['adapter_on_human']}%** | {result['minutes_in_the_browser']} |\n"
    )
    return 0 if found else 1


if __name__ == "__main__":
    sys.exit(main())
