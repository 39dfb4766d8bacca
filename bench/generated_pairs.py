"""Benchmark: pairs generated from the database (core.pairgen.generator) - how fast, and do they teach the model?

    .venv/bin/python bench/generated_pairs.py speed                 # 1,000 pairs: the sample, and 1,000,000 rows
    .venv/bin/python bench/generated_pairs.py spider [--dbs ...] [--n 500] [--resume]

`spider`: on each database of ../shared/data/spider_mini (Spider dev databases this project never tuned on, built
into a SQLite file named after the database), the product's own path with its defaults: `generate --n 500 --seed 7`,
then `train PAIRS --db DB --no-evaluate` (the bundled model, the settings and the number of steps the CLI chooses on
this machine), trained on generated pairs only. Then every human question Spider has for that database is asked:
the base model with the schema in its prompt (its best), the base model with the adapter's prompt, and the adapter;
their SQL is executed on the SQLite file and scored as generated and with the schema check. Results go to
data/bench/generated.json after each database and the table to docs/BENCHMARKS.md at the end.
"""

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.generator_coverage import spider_sql  # noqa: E402
from bench.record import record  # noqa: E402 - after the path is set
from bench.spider_eval import SPIDER, train_adapter  # noqa: E402

DATABASES = ["concert_singer", "pets_1", "car_1", "dog_kennels"]


def big_sqlite(path: Path, rows: int = 1_000_000) -> Path:
    """A SQLite file with a 1,000,000-row events table beside a 2,000-row customers table (seeded)."""
    if path.exists():
        return path
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT, city TEXT, segment TEXT);"
        "CREATE TABLE events (event_id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers "
        "(customer_id), kind TEXT, amount REAL, created TEXT);"
    )
    rng = random.Random(1)
    cities = ["Lyon", "Osaka", "Quito", "Turin", "Austin", "Pune"]
    con.executemany(
        "INSERT INTO customers VALUES (?, ?, ?, ?)",
        [
            (i, f"Customer {i}", rng.choice(cities), rng.choice(["retail", "corporate", "public"]))
            for i in range(1, 2001)
        ],
    )
    kinds = ["click", "view", "buy", "refund", "signup"]
    con.executemany(
        "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
        (
            (
                i,
                rng.randint(1, 2000),
                rng.choice(kinds),
                rng.random(),
                f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            )
            for i in range(1, rows + 1)
        ),
    )
    con.commit()
    con.close()
    return path


def speed(runs: int = 3) -> None:
    from core.db.connect import connect
    from core.pairgen.generator import generate

    lines = [
        f"\n### Pair generation speed ({time.strftime('%Y-%m-%d')}, this 2-core x86_64 machine)\n",
        "Command: `.venv/bin/python bench/generated_pairs.py speed` (n=1000, seed 7; connecting, introspecting, "
        "drafting and executing every candidate included).\n",
        "| database | pairs | runs | median | notes |",
        "|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for label, source in (
            ("the sample (embedded DuckDB)", "sample"),
            ("SQLite, a 1,000,000-row table", str(big_sqlite(Path(tmp) / "big.sqlite"))),
        ):
            times, result = [], None
            for _ in range(runs):
                start = time.perf_counter()
                result = generate(connect(source), n=1000, seed=7)
                times.append(time.perf_counter() - start)
            biggest = max(p.rows for p in result.pairs)
            notes = (
                "; ".join(result.stats.notes(1000, len(result.pairs))) + f"; largest answer {biggest} rows"
            )
            lines.append(
                f"| {label} | {len(result.pairs)} | {', '.join(f'{t:.1f}' for t in times)} s | "
                f"**{statistics.median(times):.1f} s** | {notes} |"
            )
    record("\n".join(lines) + "\n")


def _write(pairs: list[dict], path: Path) -> Path:
    path.write_text("".join(json.dumps(p) + "\n" for p in pairs), encoding="utf-8")
    return path


def run_db(db_id: str, args, work: Path) -> dict:
    from core import cli
    from core.data import load_pairs
    from core.db.connect import connect
    from core.evaluate import evaluate, rows_csv
    from core.pairgen.generator import generate
    from core.paths import data_dir
    from core.prompt_record import PromptRecord

    db_file = work / f"{db_id}.sqlite"
    db_file.unlink(missing_ok=True)
    if args.train:  # Spider's train split: a database and its questions to calibrate on
        shutil.copyfile(Path(args.train) / "database" / db_id / f"{db_id}.sqlite", db_file)
    else:
        con = sqlite3.connect(db_file)
        con.executescript((SPIDER / db_id / "schema.sql").read_text())
        con.close()
    db = connect(str(db_file), timeout_s=5.0)
    start = time.time()
    result = generate(db, n=args.n, seed=7)
    gen_s = time.time() - start
    data = _write([p.record() for p in result.pairs], work / f"{db_id}-generated.jsonl")
    cfg = cli._config(
        cli.build_parser().parse_args(
            [
                "train",
                str(data),
                "--db",
                str(db_file),
                "--no-evaluate",
                "--experiment",
                "bench-generated-pairs",
                "--run-name",
                f"{db_id}-generated",
                *(["--grpo-steps", str(args.grpo_steps)] if args.grpo_steps is not None else []),
            ]
        )
    )
    adapter, train_s = train_adapter(cfg, db_id)
    from core.train import read_job

    steps = (read_job(Path(adapter).parent) or {}).get("total_steps")
    if args.train:
        train = json.loads((Path(args.train) / "train_spider.json").read_text())
        human_file = _write(
            [
                {"question": p["question"], "sql": spider_sql(p["query"])}
                for p in train
                if p["db_id"] == db_id
            ],
            work / f"{db_id}-human.jsonl",
        )
        human = load_pairs(human_file)
    else:
        human = load_pairs(SPIDER / db_id / "pairs.jsonl")
    record = PromptRecord.load(Path(adapter))
    report = evaluate(human, db, record, adapter, progress=lambda m: print(m, flush=True), candidates=1)
    voted = None
    if args.candidates > 1:  # the adapter again with voting (on a CPU the base model's prose costs too much)
        voted = evaluate(
            human,
            db,
            record,
            adapter,
            include_base=args.vote_base,
            progress=lambda m: print(m, flush=True),
            candidates=args.candidates,
        )
    (data_dir() / f"{db_id}-rows.csv").write_text(
        rows_csv(report), encoding="utf-8"
    )  # every answer, to look at
    row = {
        "pairs": len(result.pairs),
        "queries": result.stats.queries,
        "generation_s": round(gen_s, 1),
        "steps": steps,
        "train_min": round(train_s / 60, 1),
        "eval_min": round(report.seconds / 60, 1),
        "questions": report.rows,
    }
    for side, summary in report.summaries.items():
        row[side] = {
            "exec": round(summary["exec_accuracy"], 4),
            "checked": round(summary["exec_accuracy_checked"], 4),
            "valid": round(summary["valid_sql_rate"], 4),
        }
    if voted is not None:
        row["vote_min"] = round(voted.seconds / 60, 1)
        row["candidates"] = args.candidates
        for side, summary in voted.summaries.items():
            row[side]["voted"] = round(summary["exec_accuracy_voted"], 4)
            row[side]["voted_greedy"] = round(summary["exec_accuracy"], 4)  # the same greedy answers, again
    return row


def table(results: dict, args) -> str:
    lines = [
        f"\n### Generated pairs only, Spider-mini, all human questions ({time.strftime('%Y-%m-%d')}, this 2-core "
        "x86_64 CPU, bundled SmolLM2-135M-Instruct)\n",
        f"Command: `.venv/bin/python bench/generated_pairs.py spider --n {args.n}"
        + (f" --candidates {args.candidates}" if args.candidates > 1 else "")
        + (f" --grpo-steps {args.grpo_steps}" if args.grpo_steps else "")
        + "`. Per database: "
        f"`generate --db DB --n {args.n} --seed 7`, then `train PAIRS --db DB --no-evaluate` with the CLI's "
        "defaults on this machine (steps chosen by the studio), then every Spider question of the database "
        "(none of them trained on; Spider's pairs are never used for training). Base with schema: the base "
        "model with the CREATE TABLEs in its prompt (its best); base, adapter's prompt: the prompt that names "
        "only the database; checked: after the schema check.\n",
        "| database | questions | pairs (queries) | generation s | steps | training min | base with schema "
        "(checked) | base, adapter's prompt | adapter as generated | adapter with the schema check |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    voting = any("candidates" in r for r in results.values())
    if voting:
        lines[-2] += f" adapter with voting ({args.candidates} candidates) | voting min |"
        lines[-1] += "---|---|"

    def cell(r, side, key="exec"):
        return f"{r[side][key]:.1%}" if side in r and key in r[side] else "-"

    for db_id, r in results.items():
        lines.append(
            f"| {db_id} | {r['questions']} | {r['pairs']} ({r['queries']}) | {r['generation_s']} | "
            f"{r['steps']} | {r['train_min']} | {cell(r, 'base')} ({cell(r, 'base', 'checked')}) | "
            f"{cell(r, 'base_prompt')} | **{cell(r, 'adapter')}** | {cell(r, 'adapter', 'checked')} |"
            + (f" **{cell(r, 'adapter', 'voted')}** | {r.get('vote_min', '-')} |" if voting else "")
        )
    if results:

        def mean(side, key="exec"):
            values = [r[side][key] for r in results.values() if side in r and key in r[side]]
            return f"{statistics.fmean(values):.1%}" if values else "-"

        lines.append(
            f"| **mean** | | | | | | {mean('base')} ({mean('base', 'checked')}) | {mean('base_prompt')} | "
            f"**{mean('adapter')}** | {mean('adapter', 'checked')} |"
            + (f" **{mean('adapter', 'voted')}** | |" if voting else "")
        )
    return "\n".join(lines) + "\n"


def spider(args) -> int:
    if not SPIDER.exists() and not args.train:
        print(f"no Spider data at {SPIDER}")
        return 2
    os.environ.setdefault("STUDIO_DATA_DIR", str(ROOT / "data" / "bench"))
    os.environ.setdefault("STUDIO_MLFLOW_PORT", "5077")
    from core.paths import data_dir
    from core.tracking import ensure_server

    ensure_server()
    out = data_dir() / (args.out_name or ("calibration.json" if args.train else "generated.json"))
    results = json.loads(out.read_text()) if out.exists() and args.resume else {}
    with tempfile.TemporaryDirectory() as tmp:
        for db_id in args.dbs:
            if db_id in results:
                continue
            results[db_id] = run_db(db_id, args, Path(tmp))
            out.write_text(json.dumps(results, indent=1))
            print(db_id, json.dumps(results[db_id]), flush=True)
    if args.train:
        print(table(results, args))  # calibration: printed, not recorded as a measurement
    else:
        record(table(results, args))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["speed", "spider"])
    parser.add_argument("--dbs", nargs="+", default=DATABASES)
    parser.add_argument("--n", type=int, default=500, help="generated pairs per database (the CLI's default)")
    parser.add_argument(
        "--resume", action="store_true", help="keep the finished databases of data/bench/generated.json"
    )
    parser.add_argument(
        "--candidates", type=int, default=1, help="also score the adapter with voting over N candidates"
    )
    parser.add_argument(
        "--vote-base", action="store_true", help="with --candidates: the base model votes too"
    )
    parser.add_argument("--grpo-steps", type=int, default=None, help="train with N steps of GRPO after SFT")
    parser.add_argument("--out-name", default="", help="the results file under data/bench (default by mode)")
    parser.add_argument(
        "--train",
        help="calibrate instead: Spider's train split (a folder with train_spider.json and "
        "database/); --dbs then names train databases, scored on their train questions",
    )
    args = parser.parse_args()
    if args.what == "speed":
        speed()
        return 0
    return spider(args)


if __name__ == "__main__":
    sys.exit(main())
