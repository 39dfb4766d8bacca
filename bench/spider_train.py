"""What the benches that calibrate on Spider's train split share (bench/human_ceiling.py, bench/recipe_calibration.py):
a database copied out with its human pairs and 500 generated ones, a train config from the CLI's own parser, and the
loop over databases that keeps each result in data/bench/ as it comes."""

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.generated_pairs import _write  # noqa: E402 - after the path is set
from bench.generator_coverage import spider_sql  # noqa: E402


def arguments() -> argparse.ArgumentParser:
    """--train (Spider's train split) and --dbs (its databases to run on)."""
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--train", required=True, help="Spider's train split: train_spider.json and database/"
    )
    parser.add_argument("--dbs", nargs="+", default=["allergy_1", "club_1"])
    return parser


def train_config(data: Path, db_file: Path, name: str, experiment: str, flags=(), steps: int | None = None):
    """The config `python -m core train DATA --db DB --no-evaluate` makes with these flags (0 steps: the studio's)."""
    from core import cli

    argv = ["train", str(data), "--db", str(db_file), "--no-evaluate", "--experiment", experiment]
    argv += ["--run-name", name, *flags] + (["--steps", str(steps)] if steps else [])
    return cli._config(cli.build_parser().parse_args(argv))


def database(db_id: str, folder: Path, work: Path):
    """(the SQLite file copied into `work`, its connection, its human pairs, 500 generated pairs' file)."""
    from core.data import Pair
    from core.db.connect import connect
    from core.pairgen.generator import generate

    db_file = work / f"{db_id}.sqlite"
    shutil.copyfile(folder / "database" / db_id / f"{db_id}.sqlite", db_file)
    db = connect(str(db_file), timeout_s=5.0)
    human = [
        Pair(question=p["question"], sql=spider_sql(p["query"]), row=i)
        for i, p in enumerate(json.loads((folder / "train_spider.json").read_text()), 1)
        if p["db_id"] == db_id
    ]
    generated = _write([p.record() for p in generate(db, n=500, seed=7).pairs], work / f"{db_id}-gen.jsonl")
    return db_file, db, human, generated


def run_each(dbs: list[str], results_name: str, run: Callable[[str, Path], dict]) -> dict:
    """run(db_id, work folder) for each database, each result saved to data/bench/RESULTS_NAME as it comes (earlier
    results of other databases kept); returns them all."""
    os.environ.setdefault("STUDIO_DATA_DIR", str(ROOT / "data" / "bench"))
    os.environ.setdefault("STUDIO_MLFLOW_PORT", "5077")
    from core.paths import data_dir
    from core.tracking import ensure_server

    ensure_server()
    out = data_dir() / results_name
    results = json.loads(out.read_text()) if out.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        for db_id in dbs:
            results[db_id] = run(db_id, Path(tmp))
            out.write_text(json.dumps(results, indent=1))
            print(db_id, json.dumps(results[db_id]), flush=True)
    return results
