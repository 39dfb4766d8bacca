"""Where benchmark figures go: printed, and appended to docs/BENCHMARKS.md (unless BENCH_NO_RECORD is set,
for trying a script out)."""

import os
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"


def record(text: str) -> None:
    print(text, flush=True)
    if os.environ.get("BENCH_NO_RECORD"):
        return
    BENCHMARKS.write_text((BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n") + text)
