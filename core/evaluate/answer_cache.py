"""The base model's answers, kept by everything that decides them, so the runs of a queue or a sweep (and the two
base lines of each evaluation) do not ask the same model the same prompts again.

Every run of a sweep is scored on the same held-out rows: its base lines are the same greedy answers each time,
and on a CPU they are most of an evaluation's minutes (a base model answering in prose). The key is the model's
files (name, size, time), the library versions, the prompts, the token limit and the batch size; only on a CPU,
where the batch size does not follow free memory. An adapter's answers are never kept: each run's adapter is new.
Answers are kept one prompt each (a greedy answer does not depend on the other prompts of its batch beyond the
padding's rounding), so a set of questions that grew asks only the new ones.
"""

import hashlib
import json
from pathlib import Path

from core.evaluate.vote import SAMPLING_SEED, TEMPERATURE, TOP_P
from core.files import write_atomic
from core.paths import data_dir


def _model_files(source: str) -> list:
    folder = Path(source)
    if not folder.is_dir():
        return [source]
    return [source, *sorted((f.name, f.stat().st_size, int(f.stat().st_mtime)) for f in folder.iterdir())]


def key(
    model_source: str, request: dict, device: str, samples: int = 0, prompt: list | None = None
) -> str | None:
    """The cache key of one prompt of a generation request (`prompt`; None: of all its prompts): its greedy answer,
    or `samples` sampled answers; None when its answers are not kept. Kept prompt by prompt, a later evaluation that
    asks one question more (the person kept one in the playground) asks the model that one question only."""
    if request.get("adapter") or device != "cpu":
        return None
    import torch
    import transformers

    what = [
        _model_files(model_source),
        torch.__version__,
        transformers.__version__,
        request["trust"],
        request["prompts"] if prompt is None else prompt,
        request["max_new_tokens"],
        request["batch_size"],
    ]
    if samples:  # drawn with a fixed seed, so the same request draws the same candidates
        what.append(["samples", samples, TEMPERATURE, TOP_P, SAMPLING_SEED])
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def _path(cache_key: str) -> Path:
    return data_dir() / "cache" / "base_answers" / f"{cache_key}.json"


def read(cache_key: str | None) -> list | None:
    if cache_key is None:
        return None
    try:
        answers = json.loads(_path(cache_key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # none kept, or a damaged file: generate again
    return answers if isinstance(answers, list) else None


def write(cache_key: str | None, answers: list) -> None:
    if cache_key is None:
        return
    path = _path(cache_key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Whole or not at all: a reader never sees half a file. No lock: nothing is read to write it, and two
        # runs that ask the base at once write the same answers.
        write_atomic(path, json.dumps(answers))
    except OSError:
        pass  # a full or read-only disk only costs the next evaluation its time
