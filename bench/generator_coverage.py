"""Benchmark: how much of what people ask can the pair generator produce? Calibrated on Spider's train split.

    .venv/bin/python bench/generator_coverage.py --spider SPIDER_TRAIN [--n 1000] [--dbs N] [--label now]

SPIDER_TRAIN is a folder with Spider's `train_spider.json` (7,000 human pairs over 140 databases, CC BY-SA 4.0,
Yu et al. 2018) and `database/<db_id>/<db_id>.sqlite`, as Spider's official release lays them out (public
copies of the release are on GitHub; check that the .sqlite files are SQLite, not Git LFS pointers). Only the
train split is used here: Spider's dev databases (spider_mini) are for measuring accuracy, never for tuning.

Each human SQL is reduced to its shape with sqlglot: every table becomes `t`, every column `c`, every value `0` or
'v', aliases dropped, everything else (clauses, functions, operators, joins, nesting) kept. The generator runs on
each database (n pairs, seed 7) and its SQL is reduced the same way. Coverage is the share of the human queries,
by count, whose shape the generator produced on their own database. Prints the coverage, per kind of question, and
the most frequent shapes it cannot produce; appends a section to docs/BENCHMARKS.md.
"""

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.record import record  # noqa: E402 - after the path is set
from core.pairgen.shapes import shape  # noqa: E402

_DOUBLE_QUOTED = re.compile(r'"([^"]*)"')


def spider_sql(sql: str) -> str:
    """Spider writes string values in double quotes (SQLite reads them as strings when no column has the name)."""
    return _DOUBLE_QUOTED.sub(lambda m: "'" + m.group(1).replace("'", "''") + "'", sql)


def kind(shape_text: str) -> str:
    """A coarse name for a shape, for the per-kind table."""
    s = shape_text
    for word, name in (
        (" INTERSECT ", "intersect"),
        (" EXCEPT ", "except"),
        (" UNION ", "union"),
        ("NOT c IN", "not in"),
        ("(SELECT", "nested"),
    ):
        if word in s:
            return name
    if "GROUP BY" in s:
        return "having" if "HAVING" in s else ("group top" if "LIMIT" in s else "group")
    if "ORDER BY" in s:
        return "superlative / top-N" if "LIMIT" in s else "sorted"
    if s.startswith("SELECT COUNT("):
        return "count"
    if re.match(r"SELECT (AVG|SUM|MIN|MAX)\(", s):
        return "aggregate"
    return "list"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spider", required=True, help="folder with train_spider.json and database/")
    parser.add_argument("--n", type=int, default=1000, help="pairs generated per database")
    parser.add_argument("--dbs", type=int, default=0, help="only the first N databases (0: all)")
    parser.add_argument("--label", default="now", help="what this run measures (e.g. the commit)")
    parser.add_argument("--missing", type=int, default=25, help="how many uncovered shapes to list")
    args = parser.parse_args()
    from core.db.connect import connect
    from core.pairgen.generator import generate_pairs

    folder = Path(args.spider)
    pairs = json.loads((folder / "train_spider.json").read_text())
    by_db: dict[str, list[str]] = {}
    for p in pairs:
        by_db.setdefault(p["db_id"], []).append(p["query"])
    dbs = sorted(by_db)[: args.dbs or None]
    covered, total, missing, kinds, kinds_covered = 0, 0, Counter(), Counter(), Counter()
    skipped, seconds = [], []
    for db_id in dbs:
        path = folder / "database" / db_id / f"{db_id}.sqlite"
        human = [shape(spider_sql(q)) for q in by_db[db_id]]
        try:
            start = time.perf_counter()
            made = {shape(p.sql) for p in generate_pairs(connect(str(path), timeout_s=2.0), n=args.n, seed=7)}
            seconds.append(time.perf_counter() - start)
        except Exception as e:  # noqa: BLE001 - a database the copy lacks, or one with no rows: counted as skipped
            skipped.append(f"{db_id} ({type(e).__name__})")
            continue
        for s in human:
            total += 1
            kinds[kind(s or "")] += 1
            if s in made:
                covered += 1
                kinds_covered[kind(s)] += 1
            else:
                missing[s] += 1
        print(f"{db_id}: {sum(s in made for s in human)}/{len(human)}", flush=True)
    share = covered / max(total, 1)
    lines = [
        f"\n### Generator coverage of Spider train's human query shapes ({time.strftime('%Y-%m-%d')}, "
        f"{args.label})\n",
        f"Command: `.venv/bin/python bench/generator_coverage.py --spider SPIDER_TRAIN --n {args.n} "
        f"--label {args.label}`. {len(dbs) - len(skipped)} databases, {total} human queries; generation "
        f"{sum(seconds):.0f} s in all (median {sorted(seconds)[len(seconds) // 2]:.1f} s per database).\n",
        f"**Coverage: {covered} of {total} human queries ({share:.1%})** have a shape the generator produced "
        "on their own database.\n",
        "| kind | human queries | covered |",
        "|---|---|---|",
    ]
    for name, count in kinds.most_common():
        lines.append(f"| {name} | {count} | {kinds_covered[name] / count:.0%} |")
    lines += [
        "",
        f"The {args.missing} most frequent shapes it did not produce:",
        "",
        "| queries | shape |",
        "|---|---|",
    ]
    lines += [f"| {count} | `{s}` |" for s, count in missing.most_common(args.missing)]
    if skipped:
        lines.append(f"\nSkipped: {', '.join(skipped)}.")
    record("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
