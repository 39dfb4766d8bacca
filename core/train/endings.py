"""How a training worker ended, in one status and one sentence: its own final word when it wrote one (job.json,
a GPU's out-of-memory error in rank-N.json), else what its exit says (Stop now, the signal that killed it by name, the
last line of a traceback in its log, or an exit without a word).

    status, message = explain_end(folder, code, stopped_now, step)   # completed / stopped / failed / died
"""

import json
import re
import signal
from pathlib import Path

from core.runstate import WORKER_ENDINGS, Status
from core.train.jobs import read_job
from core.train.supervisor import WORKER_LOG


def _traceback_line(log_path: Path) -> str:
    """The last line of the last Python traceback in the worker's log ('' when there is none)."""
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")[-20000:]
    except OSError:
        return ""
    if "Traceback (most recent call last)" not in text:
        return ""
    tail = text[text.rindex("Traceback (most recent call last)") :].strip().splitlines()
    return next(
        (line.strip() for line in reversed(tail) if re.match(r"^[\w.]+(Error|Exception|Exit)\b", line)),
        tail[-1].strip() if tail else "",
    )


def explain_end(folder: Path, code: int | None, stopped_now: bool, step: int = 0) -> tuple[str, str]:
    """(status, message) of a worker that has ended: its own final word when it wrote one, else what its exit
    says. status is completed, stopped or failed (the worker said so) or died."""
    job = read_job(folder) or {}
    ranks = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(Path(folder).glob("rank-*.json"))]
    oom = next((r["error"] for r in ranks if "ran out of memory" in r.get("error", "")), "")
    if oom and job.get("status") != "completed":  # one GPU ran out of memory: that, not its peers' reaction
        return "failed", oom
    if job.get("status") in WORKER_ENDINGS:
        return job["status"], job.get("error") or job.get("message", "")
    if job.get("status") == Status.EVALUATING:  # trained and saved: only the evaluation was cut short
        return Status.COMPLETED, (
            f"{job.get('message') or 'Completed.'} The evaluation did not finish: the process "
            f"ended (exit {code}); evaluate the run in step 5."
        )
    if stopped_now:
        return "died", f"Stopped at once (Stop now) at step {step}: the training process was ended."
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in set(signal.Signals) else signal.strsignal(-code) or "?"
        hint = (
            " (the system may have run out of memory, or someone ended it)" if -code == signal.SIGKILL else ""
        )
        return "died", f"The training process was killed (signal {-code}, {name}) at step {step}{hint}."
    if code and (line := _traceback_line(Path(folder) / WORKER_LOG)):
        return "failed", f"The training process failed before it could report: {line[:400]}"
    if code is None:
        return "died", (
            f"The training process ended at step {step} while no studio was watching it, without a "
            "final word."
        )
    return "died", f"The training process ended without a word (exit code {code}) at step {step}."
