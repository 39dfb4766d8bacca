"""Benchmark: how far can generated pairs take the model, next to people's own pairs for the same database?

    .venv/bin/python bench/human_ceiling.py --train SPIDER_TRAIN --dbs allergy_1 club_1

A reference for the generated-pairs target (docs/BENCHMARKS.md, issue 23), on Spider's train split only (its dev
databases stay for measuring). Per database, its human questions are split in two halves by SQL (core.data's split:
one query's wordings stay on one side). Two adapters are trained with the CLI's defaults for this machine:

- generated: `generate --n 500 --seed 7`, then `train --no-evaluate` (the steps the studio chooses);
- human: the first half of the human pairs, for the same number of steps (the same compute).

Both are scored on the second half, which neither saw, with the base model (schema in its prompt) beside them.
The human adapter is what a person with real questions would get: the ceiling the generator aims at. Printed, not
appended to docs/BENCHMARKS.md (these are calibration databases); the results go to data/bench/ceiling.json.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.generated_pairs import _write  # noqa: E402 - after the path is set
from bench.generator_coverage import spider_sql  # noqa: E402
from bench.spider_eval import train_adapter  # noqa: E402


def _config(data: Path, db_file: Path, name: str, steps: int | None):
    from core import cli

    argv = ["train", str(data), "--db", str(db_file), "--no-evaluate", "--experiment", "bench-human-ceiling"]
    argv += ["--run-name", name] + (["--steps", str(steps)] if steps else [])
    return cli._config(cli.build_parser().parse_args(argv))


def run_db(db_id: str, folder: Path, work: Path) -> dict:
    from core.data import Pair, split_pairs
    from core.db.connect import connect
    from core.db.pairgen import generate
    from core.evaluate import evaluate
    from core.prompt_record import PromptRecord
    from core.train import read_job

    db_file = work / f"{db_id}.sqlite"
    shutil.copyfile(folder / "database" / db_id / f"{db_id}.sqlite", db_file)
    db = connect(str(db_file), timeout_s=5.0)
    human = [
        Pair(question=p["question"], sql=spider_sql(p["query"]), row=i)
        for i, p in enumerate(json.loads((folder / "train_spider.json").read_text()), 1)
        if p["db_id"] == db_id
    ]
    taught, held = split_pairs(human, fraction=0.5, seed=3407, min_eval=0)
    generated = _write([p.record() for p in generate(db, n=500, seed=7).pairs], work / f"{db_id}-gen.jsonl")
    gen_adapter, gen_s = train_adapter(_config(generated, db_file, f"{db_id}-generated", None), db_id)
    steps = (read_job(Path(gen_adapter).parent) or {}).get("total_steps")
    rows = [{"question": p.question, "sql": p.sql} for p in taught]
    human_adapter, human_s = train_adapter(
        _config(_write(rows, work / f"{db_id}-human.jsonl"), db_file, f"{db_id}-human", steps), db_id
    )
    row = {"taught": len(taught), "held": len(held), "steps": steps}
    for name, adapter, seconds in (("generated", gen_adapter, gen_s), ("human", human_adapter, human_s)):
        report = evaluate(held, db, PromptRecord.load(Path(adapter)), adapter, progress=lambda m: None)
        row[f"{name}_train_min"] = round(seconds / 60, 1)
        for side, summary in report.summaries.items():
            key = "base" if side.startswith("base") else name
            row.setdefault(key, {})[side] = round(summary["exec_accuracy"], 4)
    return row


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--train", required=True, help="Spider's train split: train_spider.json and database/"
    )
    parser.add_argument("--dbs", nargs="+", default=["allergy_1", "club_1"])
    args = parser.parse_args()
    os.environ.setdefault("STUDIO_DATA_DIR", str(ROOT / "data" / "bench"))
    os.environ.setdefault("STUDIO_MLFLOW_PORT", "5077")
    from core.paths import data_dir
    from core.tracking import ensure_server

    ensure_server()
    out = data_dir() / "ceiling.json"
    results = json.loads(out.read_text()) if out.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        for db_id in args.dbs:
            results[db_id] = run_db(db_id, Path(args.train), Path(tmp))
            out.write_text(json.dumps(results, indent=1))
            print(db_id, json.dumps(results[db_id]), flush=True)
    print(
        "| database | human questions taught / held out | steps | base (schema) | generated pairs | human pairs |"
    )
    print("|---|---|---|---|---|---|")
    for db_id, r in results.items():
        cells = [f"{v:.1%}" for v in r["base"].values()]
        print(
            f"| {db_id} | {r['taught']} / {r['held']} | {r['steps']} | {' / '.join(cells)} | "
            f"{list(r['generated'].values())[0]:.1%} | {list(r['human'].values())[0]:.1%} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
