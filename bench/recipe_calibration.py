"""Benchmark: which training settings make generated pairs answer people's questions best, on Spider's train split?

    .venv/bin/python bench/recipe_calibration.py --train SPIDER_TRAIN --dbs allergy_1 club_1 \
        --variant defaults= --variant lr2e-3=--lr,2e-3

Calibration for the CPU defaults (core/defaults.py's SMALL_ON_CPU), on databases that are never measured on (Spider's
dev databases, spider_mini, stay for measuring). Per database: `generate --n 500 --seed 7`, then one adapter per
variant, each trained with the CLI's defaults for this machine plus the variant's flags. The first variant takes the
steps the studio chooses; every later one trains the same number of steps, so variants compare at equal compute.
Each adapter is scored on **all** of the database's human questions (none trained on). Printed, not appended to
docs/BENCHMARKS.md; results go to data/bench/recipe.json.
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


def _config(data: Path, db_file: Path, name: str, flags: list[str], steps: int | None):
    from core import cli

    argv = ["train", str(data), "--db", str(db_file), "--no-evaluate", "--experiment", "bench-recipe"]
    argv += ["--run-name", name, *flags] + (["--steps", str(steps)] if steps else [])
    return cli._config(cli.build_parser().parse_args(argv))


def run_db(db_id: str, folder: Path, work: Path, variants: dict[str, list[str]]) -> dict:
    from core.data import Pair
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
    generated = _write([p.record() for p in generate(db, n=500, seed=7).pairs], work / f"{db_id}-gen.jsonl")
    row: dict = {"questions": len(human), "steps": None}
    for name, flags in variants.items():
        adapter, seconds = train_adapter(
            _config(generated, db_file, f"{db_id}-{name}", flags, row["steps"]), db_id
        )
        row["steps"] = row["steps"] or (read_job(Path(adapter).parent) or {}).get("total_steps")
        report = evaluate(human, db, PromptRecord.load(Path(adapter)), adapter, progress=lambda m: None)
        scores = {side: round(s["exec_accuracy"], 4) for side, s in report.summaries.items()}
        row[name] = {"train_min": round(seconds / 60, 1), **scores}
        print(db_id, name, json.dumps(row[name]), flush=True)
    return row


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--train", required=True, help="Spider's train split: train_spider.json and database/"
    )
    parser.add_argument("--dbs", nargs="+", default=["allergy_1", "club_1"])
    parser.add_argument(
        "--variant",
        action="append",
        required=True,
        help="NAME=FLAGS, the train flags comma-separated (NAME= for the defaults); the first sets the steps",
    )
    args = parser.parse_args()
    variants = {}
    for spec in args.variant:
        name, _, flags = spec.partition("=")
        variants[name] = [f for f in flags.split(",") if f]
    os.environ.setdefault("STUDIO_DATA_DIR", str(ROOT / "data" / "bench"))
    os.environ.setdefault("STUDIO_MLFLOW_PORT", "5077")
    from core.paths import data_dir
    from core.tracking import ensure_server

    ensure_server()
    out = data_dir() / "recipe.json"
    results = json.loads(out.read_text()) if out.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        for db_id in args.dbs:
            results[db_id] = run_db(db_id, Path(args.train), Path(tmp), variants)
            out.write_text(json.dumps(results, indent=1))
    print("| database | questions | steps | " + " | ".join(variants) + " |")
    print("|---|---|---|" + "---|" * len(variants))
    for db_id, r in results.items():
        cells = [
            " / ".join(f"{v:.1%}" for k, v in r[n].items() if k != "train_min") if n in r else "-"
            for n in variants
        ]
        print(f"| {db_id} | {r['questions']} | {r['steps']} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
