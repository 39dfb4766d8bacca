"""Benchmark: what the per-scope column check (sqlglot's traverse_scope, issue 17) costs per query, next to
parsing, on the sample pairs and on spider_mini's pairs (when ../shared/data/spider_mini is there). Trees are
parsed once; each figure is the best of 15 passes. Appends to docs/BENCHMARKS.md.

    .venv/bin/python bench/column_check.py
"""

import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.record import record  # noqa: E402 - after the path is set

SPIDER = ROOT.parent / "shared" / "data" / "spider_mini"


def best_of(fn, items, passes: int = 15) -> float:
    best = float("inf")
    for _ in range(passes):
        start = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, time.perf_counter() - start)
    return best / len(items) * 1e6


def main() -> int:
    from core.data import parse_schema, parse_sql
    from core.data.sqlcheck import check_names

    sets = [("sample", ROOT / "assets/sample_pairs.jsonl", ROOT / "assets/sample_schema.sql", "postgres")]
    if SPIDER.is_dir():
        sets += [
            (d.name, d / "pairs.jsonl", d / "schema.sql", "sqlite")
            for d in sorted(SPIDER.iterdir())
            if d.is_dir()
        ]
    rows, total = [], {"names": 0.0, "parse": 0.0, "n": 0, "findings": 0}
    for name, pairs, schema, dialect in sets:
        known = parse_schema(schema.read_text(encoding="utf-8"), dialect).lookup()
        sqls = [
            json.loads(line)["sql"] for line in pairs.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
        trees = [parse_sql(sql, dialect)[0] for sql in sqls]
        names = best_of(lambda tree: check_names(tree, known, dialect), trees)  # noqa: B023 - used at once
        parse = best_of(lambda sql: parse_sql(sql, dialect), sqls)  # noqa: B023
        findings = sum(len(check_names(tree, known, dialect)) for tree in trees)
        rows.append(f"| {name} ({dialect}) | {len(sqls)} | {names:.0f} us | {parse:.0f} us | {findings} |")
        total["names"] += names * len(sqls)
        total["parse"] += parse * len(sqls)
        total["n"] += len(sqls)
        total["findings"] += findings
    n = total["n"]
    rows.append(
        f"| all | {n} | {total['names'] / n:.0f} us | {total['parse'] / n:.0f} us | {total['findings']} |"
    )
    text = (
        f"\n### Column check per scope ({time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores)\n\n"
        "Command: `.venv/bin/python bench/column_check.py` (check_names on parsed trees vs parsing the same SQL, "
        "per query, best of 15)\n\n| pairs | queries | column check | parse | findings |\n|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n"
    )
    record(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
