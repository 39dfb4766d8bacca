"""Shared bits of the studio's shell: the session's dataset, message boxes, and the errors users can fix."""

import html
import json
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
import pandas as pd

from core.config import TrainConfig
from core.data import Pair, Report
from core.defaults import default_candidates
from core.evaluate import GeneratorProcess
from core.evaluate.vote import TEMPERATURE, TOP_P
from core.paths import data_dir
from core.train import (
    USER_ERRORS,  # noqa: F401 - the tabs import it from here
    gpu_available,
)


@dataclass
class Dataset:
    """The dataset a browser session is working on (kept in a gr.State)."""

    path: str = ""
    name: str = ""
    pairs: list[Pair] = field(default_factory=list)
    report: Report | None = None
    schema_ddl: str = ""  # as the user gave it
    schema_text: str = ""  # CREATE TABLEs only, as they go into the prompt
    dialect: str = "postgres"
    database: str = (
        ""  # the connected database's source (app.db_panel): pairs are run on it, the run records it
    )
    database_name: str = ""  # how prompts that leave the schema out name the database
    schema_mode: str = (
        "full"  # what the prompt holds of the schema (the Train tab's choice), for token counts
    )

    @property
    def prompt_format(self):

        cfg = TrainConfig(
            data_path=self.path,
            data_name=self.name,
            schema_path="",
            dialect=self.dialect,
            database=self.database,
            schema_in_prompt=self.schema_mode,
            database_name=self.database_name,
        )
        return cfg.prompt_format(
            self.schema_text
        )  # as the run's prompt record will (app.train_form.make_config)

    @property
    def loaded(self) -> bool:
        return bool(self.pairs)

    def trainable_count(self, exclude_errors: bool = True) -> int:
        if not self.report:
            return len(self.pairs)
        return self.report.summary["trainable"] if exclude_errors else len(self.pairs)


def progress_reporter(progress, describe):
    """A (done, total) callback for core that moves a gr.Progress bar with describe(done, total) as its text; None
    without one. `is not None`: a gr.Progress is falsy (its len() is 0 until it wraps an iterable)."""
    if progress is None:
        return None
    return lambda done, total: progress(done / total, desc=describe(done, total))


RUN_DATABASE = "The run's database"


def db_target(kind: str, db_file, pg_url: str) -> tuple[str | None, str | None]:
    """(target, data) for core.evaluate.database_for from the Evaluate tab's database choice (None: the run's own)."""
    if kind == RUN_DATABASE:
        return None, None
    if kind == "PostgreSQL":
        if not (pg_url or "").startswith(("postgresql://", "postgres://")):
            raise ValueError("Enter a PostgreSQL URL (postgresql://user:password@host/db).")
        return pg_url, None
    if kind == "SQLite file":
        if not db_file:
            raise ValueError("Upload the SQLite file first.")
        return str(db_file), None
    return "duckdb", (str(db_file) if db_file else None)


def result_frame(result, rows: list | None = None, columns: list[str] | None = None):
    """A query's result for a grid, under the query's own column names (a repeated name gets a number: "name",
    "name 2"); the error in one cell when it did not run, or a note when there was no SQL. `rows`/`columns`: a result
    kept in a report instead of a QueryResult."""
    if result is not None:
        if not result.ok:
            return pd.DataFrame([[result.error]], columns=["error"])
        rows, columns = result.rows, result.columns
    if rows is None:
        return pd.DataFrame([["no SQL in the answer"]], columns=["note"])
    width = len(rows[0]) if rows else len(columns or [])
    names = list(columns or [])[:width] or [f"column {i + 1}" for i in range(width)]
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return pd.DataFrame([list(r) for r in rows[:200]], columns=unique)


def box(text: str, kind: str = "info") -> str:
    """A message box: kind is info, ok, warn or error. Text is escaped; **bold** is not interpreted."""
    return f'<div class="msg msg-{kind}">{html.escape(text)}</div>'


def store_upload(path: str, original_name: str) -> Path:
    """Copy an uploaded file under the data folder with a generated name (the user's name is not trusted)."""
    suffix = Path(original_name).suffix.lower()
    suffix = suffix if suffix in (".json", ".jsonl", ".csv", ".sql", ".txt") else ".dat"
    target = data_dir() / "uploads" / f"{uuid.uuid4().hex}{suffix}"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    return target


def write_pairs(pairs: list[Pair]) -> Path:
    """The session's dataset as a new JSONL file under the data folder (what training reads): question and SQL,
    plus where a generated pair came from, so the split still tells the user's pairs from the generated ones."""
    target = data_dir() / "uploads" / f"dataset-{uuid.uuid4().hex[:8]}.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for pair in pairs:
        record = {"question": pair.question, "sql": pair.sql}
        if pair.source:
            record.update(source=pair.source, template=pair.template, phrasing=pair.phrasing)
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    target.write_text("".join(lines), encoding="utf-8")
    return target


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


# The playground's generation process (base and adapter stay loaded in it between questions): one per studio, and
# the Train tab closes it before a run starts (training needs the memory).
_generators: list = []


def close_generators() -> None:
    """Free the playground's models: its generation process ends."""
    while _generators:
        _generators.pop().close()


def playground_generator() -> GeneratorProcess:
    if _generators and not _generators[0].alive():
        close_generators()
    if not _generators:
        _generators.append(GeneratorProcess(keep=2))
    return _generators[0]


def candidates_slider(elem_id: str) -> gr.Slider:
    """Candidates per answer: 1 answers greedily; more vote by their results (core.evaluate.vote)."""
    return gr.Slider(
        1,
        16,
        value=default_candidates(gpu_available()),
        step=1,
        label="Candidates per answer (voting)",
        info=f"1 = the greedy answer. More: the greedy answer and sampled ones (temperature {TEMPERATURE:g}, top-p "
        f"{TOP_P:g}) each run on the database, and the result most of them give wins, for both models alike. "
        "Measured on a 2-core CPU: 8 candidates took 8-10 s a question (five to seven times a greedy answer) and "
        "added 4 to 13 points on three Spider databases.",
        elem_id=elem_id,
    )
