"""Benchmark: base vs fine-tuned execution accuracy on the four Spider databases in ../shared/data/spider_mini.

For each database: split its pairs 80/20 by SQL string (Spider writes each query twice), train the bundled model
on the 80% for a fixed number of CPU steps through the engine, then evaluate base and adapter on the 20% by
executing their SQL on the real SQLite database. Prints a table and appends it to docs/BENCHMARKS.md.

    .venv/bin/python bench/spider_eval.py [--steps 30] [--dbs concert_singer pets_1 car_1 dog_kennels]
"""

import argparse
import json
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.record import record  # noqa: E402 - after the path is set

SPIDER = ROOT.parent / "shared" / "data" / "spider_mini"


def train_adapter(cfg, label: str) -> tuple[str, float]:
    """Train through the studio's engine; (adapter folder, seconds). Raises when the run does not complete."""
    from core.train import Engine

    engine = Engine()
    start = time.time()
    engine.start(cfg)
    snap = engine.wait()
    if snap["status"] != "completed":
        raise RuntimeError(f"{label}: training {snap['status']}: {snap['error']}")
    return snap["adapter_path"], time.time() - start


def run_db(db_id: str, steps: int, work: Path) -> dict:
    from core.config import TrainConfig
    from core.data import load_pairs, load_schema_file, schema_ddl_only, split_pairs
    from core.db import open_database
    from core.evaluate import evaluate
    from core.prompt_record import PromptRecord

    pairs = load_pairs(SPIDER / db_id / "pairs.jsonl")
    train, held = split_pairs(pairs, fraction=0.2, seed=3407, min_eval=0)
    train_file = work / f"{db_id}-train.jsonl"
    train_file.write_text("".join(json.dumps({"question": p.question, "sql": p.sql}) + "\n" for p in train))
    script = (SPIDER / db_id / "schema.sql").read_text()
    db_file = work / f"{db_id}.sqlite"
    con = sqlite3.connect(db_file)
    con.executescript(script)
    con.close()
    ddl = schema_ddl_only(load_schema_file(SPIDER / db_id / "schema.sql", "sqlite"), "sqlite")
    cfg = TrainConfig(
        data_path=str(train_file),
        schema_text=ddl,
        dialect="sqlite",
        max_steps=steps,
        batch_size=4,
        grad_accum=1,
        learning_rate=1e-3,
        warmup_steps=2,
        max_seq_length=1024,
        eval_fraction=0.0,
        experiment="bench-spider",
        run_name=f"spider-{db_id}-{steps}",
    )
    adapter, train_s = train_adapter(cfg, db_id)
    report = evaluate(held, open_database(str(db_file)), PromptRecord.load(Path(adapter)), adapter)
    b, a = report.summaries["base"], report.summaries["adapter"]
    return {
        "db": db_id,
        "train": len(train),
        "held_out": report.rows,
        "steps": steps,
        "train_s": train_s,
        "eval_s": report.seconds,
        "base": b["exec_accuracy"],
        "adapter": a["exec_accuracy"],
        "base_valid": b["valid_sql_rate"],
        "adapter_valid": a["valid_sql_rate"],
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--dbs", nargs="+", default=["concert_singer", "pets_1", "car_1", "dog_kennels"])
    args = parser.parse_args()
    if not SPIDER.exists():
        print(f"no Spider data at {SPIDER}")
        return 2
    from core.tracking import ensure_server

    ensure_server()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for db_id in args.dbs:
            rows.append(run_db(db_id, args.steps, Path(tmp)))
            print(json.dumps(rows[-1]), flush=True)
    lines = [
        f"\n### Spider-mini, base vs fine-tuned ({time.strftime('%Y-%m-%d')}, {platform.machine()} CPU, "
        f"2 cores, bundled SmolLM2-135M-Instruct)\n",
        f"Command: `.venv/bin/python bench/spider_eval.py --steps {args.steps}` (LoRA r16/a32, batch 4 x accum 1, "
        "lr 1e-3, 80/20 split by SQL string, seed 3407, SQLite execution).\n",
        "| database | train pairs | held-out | steps | train s | eval s (both models) | base exec acc | "
        "fine-tuned exec acc | base valid SQL | fine-tuned valid SQL |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['db']} | {r['train']} | {r['held_out']} | {r['steps']} | {r['train_s']:.0f} | "
            f"{r['eval_s']:.0f} | {r['base']:.1%} | {r['adapter']:.1%} | {r['base_valid']:.1%} | "
            f"{r['adapter_valid']:.1%} |"
        )
    text = "\n".join(lines) + "\n"
    record(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
