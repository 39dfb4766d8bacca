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

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.spider_eval import train_adapter  # noqa: E402 - after the path is set
from bench.spider_train import arguments, database, run_each, train_config  # noqa: E402


def run_db(db_id: str, folder: Path, work: Path, variants: dict[str, list[str]]) -> dict:
    from core.evaluate import evaluate
    from core.prompt_record import PromptRecord
    from core.train import read_job

    db_file, db, human, generated = database(db_id, folder, work)
    row: dict = {"questions": len(human), "steps": None}
    for name, flags in variants.items():
        cfg = train_config(generated, db_file, f"{db_id}-{name}", "bench-recipe", flags, row["steps"])
        adapter, seconds = train_adapter(cfg, db_id)
        row["steps"] = row["steps"] or (read_job(Path(adapter).parent) or {}).get("total_steps")
        report = evaluate(human, db, PromptRecord.load(Path(adapter)), adapter, progress=lambda m: None)
        scores = {side: round(s["exec_accuracy"], 4) for side, s in report.summaries.items()}
        row[name] = {"train_min": round(seconds / 60, 1), **scores}
        print(db_id, name, json.dumps(row[name]), flush=True)
    return row


def main() -> int:
    parser = arguments()
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
    results = run_each(
        args.dbs, "recipe.json", lambda db_id, work: run_db(db_id, Path(args.train), work, variants)
    )
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
