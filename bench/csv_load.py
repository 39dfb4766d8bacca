"""Benchmark: a 50,000-row CSV into the embedded DuckDB (a data folder of one CSV per table), through
`open_database` as the Evaluate tab and the CLI call it. Target (issue 17): under 2 s. Appends to docs/BENCHMARKS.md.

    .venv/bin/python bench/csv_load.py
"""

import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.record import record  # noqa: E402 - after the path is set

ROWS = 50_000
DDL = """CREATE TABLE sales (sale_id INTEGER PRIMARY KEY, sale_date DATE NOT NULL, customer TEXT, region TEXT,
                    quantity INTEGER, amount NUMERIC(12, 2));"""


def write_csv(folder: Path) -> Path:
    """Sales rows as a spreadsheet would save them: a BOM, quoted text with commas, some empty cells."""
    lines = ["\ufeffsale_id,sale_date,customer,region,quantity,amount"]
    for i in range(1, ROWS + 1):
        customer = f'"Customer {i % 977}, Ltd"' if i % 3 else ""
        lines.append(
            f"{i},2024-{1 + i % 12:02d}-{1 + i % 28:02d},{customer},Region {i % 8},{1 + i % 9},{i % 991}.50"
        )
    path = folder / "sales.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main() -> int:
    from core.db import open_database

    with tempfile.TemporaryDirectory() as tmp:
        size = write_csv(Path(tmp)).stat().st_size
        times = []
        for _ in range(5):
            start = time.perf_counter()
            db = open_database("duckdb", DDL, tmp)
            times.append(time.perf_counter() - start)
        count, empty = db.execute("SELECT COUNT(*), COUNT(*) - COUNT(customer) FROM sales").rows[0]
    assert count == ROWS and empty == ROWS // 3, (count, empty)
    median = statistics.median(times)
    text = (
        f"\n### CSV into DuckDB ({time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores)\n\n"
        "Command: `.venv/bin/python bench/csv_load.py` (DuckDB's `INSERT INTO t BY NAME SELECT * FROM "
        "read_csv(...)`, issue 17)\n\n| what | figure | target |\n|---|---|---|\n"
        f"| {ROWS:,}-row CSV ({size / 1e6:.1f} MB; BOM, quoted commas, empty cells) -> DuckDB table, "
        f"`open_database` (5 runs) | median {median:.2f} s, best {min(times):.2f} s | under 2 s: "
        f"{'met' if median < 2 else '**missed**'} |\n"
    )
    record(text)
    return 0 if median < 2 else 1


if __name__ == "__main__":
    sys.exit(main())
