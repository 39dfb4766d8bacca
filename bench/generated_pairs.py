"""Benchmark: pairs generated from the database (core.db.pairgen) - how fast, and do they teach the model?

    .venv/bin/python bench/generated_pairs.py speed                 # 1,000 pairs from the sample database
    .venv/bin/python bench/generated_pairs.py spider [--dbs ...] [--n 600] [--steps 80] [--spider-steps 40] [--generated-first] [--resume]

`spider`: on each database of ../shared/data/spider_mini (built into a SQLite file), Spider's pairs are split 50/50
by SQL string (seed 3407); three adapters of the bundled model are trained through the engine - (a) on generated
pairs only, (b) on Spider's training half only, (c) on both (Spider's pairs win when questions clash) - and the
base model and each adapter are evaluated on the same held-out Spider half by executing their SQL on the SQLite
file. The system prompt names the database instead of pasting its DDL. Results go to data/bench/generated.json
after each adapter (a long run can be read while it goes) and the table to docs/BENCHMARKS.md at the end.
"""

import argparse
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.record import record  # noqa: E402 - after the path is set
from bench.spider_eval import SPIDER, train_adapter  # noqa: E402

SETS = ("a_generated", "b_spider", "c_both")
TEMPLATE = "You are a {dialect} SQL expert. Write one SQL query that answers the question on the {db} database."


def speed(runs: int = 3) -> None:
    from core.db.connect import connect
    from core.db.pairgen import generate_pairs, template_counts

    times, made = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        pairs = generate_pairs(connect("sample"), n=1000, seed=7)  # connecting and introspecting included
        times.append(time.perf_counter() - start)
        made = len(pairs)
    kinds = template_counts(pairs)
    record(f"\n### Pair generation speed ({time.strftime('%Y-%m-%d')}, {platform.machine()}, 2-core CPU sandbox)\n\n"
           f"Command: `.venv/bin/python bench/generated_pairs.py speed` (sample database in an embedded DuckDB, "
           f"n=1000, seed 7; connecting, introspecting, drafting and executing every candidate included).\n\n"
           f"{made} pairs in {statistics.median(times):.1f} s (median of {runs}; runs: "
           f"{', '.join(f'{t:.1f}' for t in times)} s); {len(kinds)} templates used, the largest "
           f"{max(kinds.values())} pairs, the smallest {min(kinds.values())}.\n")


def _write(pairs: list[dict], path: Path) -> Path:
    path.write_text("".join(json.dumps(p) + "\n" for p in pairs), encoding="utf-8")
    return path


def run_db(db_id: str, args, work: Path, results: dict, out: Path, only: tuple[str, ...] = SETS) -> None:
    from core.config import TrainConfig
    from core.data import load_pairs, split_pairs
    from core.data.split import normalise_question
    from core.db.connect import connect
    from core.db.pairgen import generate_pairs
    from core.evaluate import evaluate

    db_file = work / f"{db_id}.sqlite"
    db_file.unlink(missing_ok=True)  # built afresh on every pass over the database
    con = sqlite3.connect(db_file)
    con.executescript((SPIDER / db_id / "schema.sql").read_text())
    con.close()
    db = connect(str(db_file), timeout_s=5.0)
    spider = load_pairs(SPIDER / db_id / "pairs.jsonl")
    train, held = split_pairs(spider, fraction=0.5, seed=3407, min_eval=0)
    start = time.time()
    generated = [p.record() for p in generate_pairs(db, n=args.n, seed=7)]
    gen_s = time.time() - start
    own = [{"question": p.question, "sql": p.sql, "source": "user"} for p in train]
    asked = {normalise_question(p["question"]) for p in own}
    both = own + [g for g in generated if normalise_question(g["question"]) not in asked]
    sets = {"a_generated": (generated, args.steps), "b_spider": (own, args.spider_steps), "c_both": (both, args.steps)}
    row = results.setdefault(db_id, {"train_spider": len(train), "held_out": len(held), "generated": len(generated),
                                     "generation_s": round(gen_s, 1)})
    template = TEMPLATE.replace("{db}", db_id)
    for name, (pairs, steps) in sets.items():
        if name in row or name not in only:
            continue
        cfg = TrainConfig(data_path=str(_write(pairs, work / f"{db_id}-{name}.jsonl")), dialect="sqlite",
                          system_template=template, max_steps=steps, batch_size=4, grad_accum=1, learning_rate=1e-3,
                          warmup_steps=5, max_seq_length=256, eval_fraction=0.0, checkpoint_every=0,
                          experiment="bench-generated-pairs", run_name=f"{db_id}-{name}")
        adapter, train_s = train_adapter(cfg, f"{db_id} {name}")
        base = "base" not in row
        report = evaluate(held, db, cfg, "", adapter, include_base=base, progress=lambda m: print(m, flush=True))
        if base:
            row["base"] = _scores(report.summaries["base"])
        row[name] = {**_scores(report.summaries["adapter"]), "pairs": len(pairs), "steps": steps,
                     "train_min": round(train_s / 60, 1), "eval_min": round(report.seconds / 60, 1)}
        out.write_text(json.dumps(results, indent=1))
        print(db_id, name, json.dumps(row[name]), flush=True)


def _scores(summary: dict) -> dict:
    return {"exec": round(summary["exec_accuracy"], 4), "valid": round(summary["valid_sql_rate"], 4)}


def table(results: dict, args) -> str:
    lines = [f"\n### Generated pairs vs Spider's own pairs, Spider-mini ({time.strftime('%Y-%m-%d')}, 2-core CPU sandbox, "
             "bundled SmolLM2-135M-Instruct)\n",
             f"Command: `.venv/bin/python bench/generated_pairs.py spider --n {args.n} --steps {args.steps} "
             f"--spider-steps {args.spider_steps}`. Spider's pairs split 50/50 by SQL string (seed 3407); all models "
             "scored on the same held-out half by execution on the SQLite database. LoRA r16/a32, lr 1e-3, batch 4 x 1, "
             "max length 256; the system prompt names the database (no DDL). (a) generated pairs only (seed 7), "
             "(b) Spider's training half only, (c) both.\n",
             "| database | held-out | base exec / valid | (a) generated: pairs, steps, min | (a) exec / valid | "
             "(b) Spider: pairs, steps, min | (b) exec / valid | (c) both: pairs, steps, min | (c) exec / valid |",
             "|---|---|---|---|---|---|---|---|---|"]

    def cell(r, key):
        return f"{r[key]['exec']:.1%} / {r[key]['valid']:.1%}" if key in r else "not run"

    def size(r, key):
        return f"{r[key]['pairs']}, {r[key]['steps']}, {r[key]['train_min']}" if key in r else "-"

    for db_id, r in results.items():
        lines.append(f"| {db_id} | {r['held_out']} | {cell(r, 'base')} | {size(r, 'a_generated')} | "
                     f"{cell(r, 'a_generated')} | {size(r, 'b_spider')} | {cell(r, 'b_spider')} | {size(r, 'c_both')} | "
                     f"{cell(r, 'c_both')} |")
    done = [r for r in results.values() if "a_generated" in r]
    if done:
        mean = statistics.fmean(r["a_generated"]["exec"] for r in done)
        lines.append(f"\nMean execution accuracy of (a) over {len(done)} databases: {mean:.1%}.\n")
    return "\n".join(lines) + "\n"


def spider(args) -> int:
    if not SPIDER.exists():
        print(f"no Spider data at {SPIDER}")
        return 2
    os.environ.setdefault("STUDIO_DATA_DIR", str(ROOT / "data" / "bench"))
    os.environ.setdefault("STUDIO_MLFLOW_PORT", "5077")
    from core.paths import data_dir
    from core.tracking import ensure_server

    ensure_server()
    out = data_dir() / "generated.json"
    results = json.loads(out.read_text()) if out.exists() and args.resume else {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.generated_first:  # (a) on every database first: the headline figure, when time is short
            for db_id in args.dbs:
                run_db(db_id, args, Path(tmp), results, out, only=("a_generated",))
        for db_id in args.dbs:
            run_db(db_id, args, Path(tmp), results, out)
    record(table(results, args))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["speed", "spider"])
    parser.add_argument("--dbs", nargs="+", default=["concert_singer", "pets_1", "car_1", "dog_kennels"])
    parser.add_argument("--n", type=int, default=600, help="generated pairs per database")
    parser.add_argument("--steps", type=int, default=80, help="steps for (a) and (c)")
    parser.add_argument("--spider-steps", type=int, default=40, help="steps for (b): Spider's 20-46 training pairs")
    parser.add_argument("--resume", action="store_true", help="keep the finished adapters of data/bench/generated.json")
    parser.add_argument("--generated-first", action="store_true", help="train and score (a) on every database first")
    args = parser.parse_args()
    if args.what == "speed":
        speed()
        return 0
    return spider(args)


if __name__ == "__main__":
    sys.exit(main())
