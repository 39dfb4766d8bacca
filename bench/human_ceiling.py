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

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.generated_pairs import _write  # noqa: E402
from bench.spider_eval import train_adapter  # noqa: E402 - after the path is set
from bench.spider_train import arguments, database, run_each, train_config  # noqa: E402

EXPERIMENT = "bench-human-ceiling"


def run_db(db_id: str, folder: Path, work: Path) -> dict:
    from core.data import split_pairs
    from core.evaluate import evaluate
    from core.prompt_record import PromptRecord
    from core.train import read_job

    db_file, db, human, generated = database(db_id, folder, work)
    taught, held = split_pairs(human, fraction=0.5, seed=3407, min_eval=0)
    gen_adapter, gen_s = train_adapter(
        train_config(generated, db_file, f"{db_id}-generated", EXPERIMENT), db_id
    )
    steps = (read_job(Path(gen_adapter).parent) or {}).get("total_steps")
    rows = [{"question": p.question, "sql": p.sql} for p in taught]
    human_adapter, human_s = train_adapter(
        train_config(
            _write(rows, work / f"{db_id}-human.jsonl"), db_file, f"{db_id}-human", EXPERIMENT, steps=steps
        ),
        db_id,
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
    parser = arguments()
    args = parser.parse_args()
    results = run_each(args.dbs, "ceiling.json", lambda db_id, work: run_db(db_id, Path(args.train), work))
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
