"""Every merged or GGUF export checks itself: the first K held-out questions of the training run go through the
exported model and through the adapter, greedily, and the answers are compared.

    check = self_check(source, merged_dir, gguf_file=None, questions=8)   # after the export is written
    check.summary()     # "Self-check: 8 of 8 answers identical ..." (or which differ, or why it was skipped)

Held-out questions: the run's split.json (an MLflow artifact) with its config's data file; for an adapter folder
without a run, the job folder's split.json and job.json beside it. Without them, or while a training run holds
the CPU/GPU, the check is skipped and says why. A mismatch is a warning, not a failure: 16-bit rounding can flip
a greedy choice between two almost equal tokens, and q8_0 changes the weights on purpose.
"""

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.compute import BusyError
from core.config import TrainConfig
from core.data import DataError, load_pairs
from core.evaluate import SqlGenerator, generating, training_busy_message
from core.tracking import run_config
from core.train import read_job

DEFAULT_QUESTIONS = 8
MAX_NEW_TOKENS = 96  # as in evaluation: room for the SQL of one question
SPLIT_FILE = "split.json"
TRAINING_BUSY = (
    "a training run is in progress, and the check would load two more models next to it. Export "
    "again when it has ended to get the check."
)


class NoQuestions(ValueError):
    """No held-out questions can be found for this adapter; the message says why."""


@dataclass
class SelfCheck:
    total: int = 0  # questions asked
    identical: int = 0
    differences: list[dict] = field(
        default_factory=list
    )  # question, {adapter,export}_{raw,sql}: what each wrote
    error: str = ""  # the export could not be loaded or run
    skipped: str = ""  # why no check ran
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.error and not self.skipped and self.total > 0 and self.identical == self.total

    @property
    def warning(self) -> bool:
        """Something to look at: answers differ or the export did not load (a skipped check is no warning)."""
        return bool(self.error or self.differences)

    def summary(self) -> str:
        if self.skipped:
            return f"Self-check skipped: {self.skipped}"
        if self.error:
            return f"Self-check: the export could not be loaded or run ({self.error}). Do not use it; export again."
        line = (
            f"Self-check: {self.identical} of {self.total} answers identical (held-out questions, greedy, "
            "the export against the adapter)."
        )
        if self.differences:
            line += f" {len(self.differences)} differ: see the README's self-check section."
        return line

    def markdown(self) -> str:
        """The README section."""
        text = f"## Self-check\n\n{self.summary()}\n"
        for i, d in enumerate(self.differences, 1):
            same_sql = d["adapter_sql"] == d["export_sql"]
            a, x = (d["adapter_raw"], d["export_raw"]) if same_sql else (d["adapter_sql"], d["export_sql"])
            note = " (the same SQL; the text around it differs)" if same_sql else ""
            text += (
                f"\n{i}. {d['question']}{note}\n\n```text\nadapter:     {_one_line(a)}\n"
                f"this export: {_one_line(x)}\n```\n"
            )
        return text

    def tags(self, fmt: str) -> dict[str, str]:
        """MLflow tags for the training run, one set per export format."""
        if self.skipped:
            return {f"export_check.{fmt}": self.summary()[:5000]}
        return {
            f"export_check.{fmt}": self.summary()[:5000],
            f"export_check.{fmt}.identical": str(self.identical),
            f"export_check.{fmt}.total": str(self.total),
        }


def _one_line(text: str) -> str:
    """An answer on one line of a fenced block (a fence inside it would end the block)."""
    return " ".join(text.split()).replace("```", "` ` `")


def _config_from(data: dict | None, where: str) -> TrainConfig:
    if not data:
        raise NoQuestions(f"{where} has no training config, so the held-out questions are unknown.")
    return TrainConfig.from_dict(data)


def _run_split(run_id: str, tracking_uri: str | None) -> tuple[TrainConfig, list[int]]:
    from mlflow.tracking import MlflowClient

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = MlflowClient(tracking_uri).download_artifacts(run_id, SPLIT_FILE, tmp)
        except Exception as e:  # noqa: BLE001 - no such artifact, or MLflow unreachable: both mean "no split"
            raise NoQuestions(f"the run {run_id} has no {SPLIT_FILE} ({type(e).__name__}).") from None
        split = json.loads(Path(path).read_text(encoding="utf-8"))
    cfg = run_config(run_id, tracking_uri)
    if cfg is None:
        raise NoQuestions(f"the run {run_id} has no config.json, so its data file is unknown.")
    return cfg, list(split.get("eval_rows", []))


def _job_split(adapter_dir: Path) -> tuple[TrainConfig, list[int]]:
    """The job folder training left: <job>/adapter beside <job>/split.json and <job>/job.json."""

    job_dir = adapter_dir.parent
    if not (job_dir / SPLIT_FILE).exists():
        raise NoQuestions(
            f"no {SPLIT_FILE} beside the adapter folder (in {job_dir.name}/), so the held-out "
            "questions are unknown. Export from the training run (--run RUN_ID) to check."
        )
    split = json.loads((job_dir / SPLIT_FILE).read_text(encoding="utf-8"))
    cfg = _config_from((read_job(job_dir) or {}).get("config"), f"The job folder {job_dir.name}")
    return cfg, list(split.get("eval_rows", []))


def held_out_pairs(
    adapter_dir: Path, run_id: str = "", count: int = DEFAULT_QUESTIONS, tracking_uri: str | None = None
) -> list:
    """The first `count` held-out pairs of the adapter's training run (never trained on). Raises NoQuestions."""

    cfg, rows = _run_split(run_id, tracking_uri) if run_id else _job_split(Path(adapter_dir))
    if not rows:
        raise NoQuestions(
            "the training run held out no rows (eval split 0), so there is no unseen question to ask."
        )
    wanted = set(rows)
    try:
        pairs = [p for p in load_pairs(cfg.data_path) if p.row in wanted]
    except (DataError, OSError) as e:
        raise NoQuestions(f"the training data file {cfg.data_path} cannot be read any more ({e}).") from None
    if not pairs:
        raise NoQuestions(
            f"the held-out rows are no longer in {cfg.data_path} (was it changed since training?)."
        )
    return pairs[:count]


def _answers(generator_args: dict, pairs: list, record, max_new_tokens: int) -> list[tuple[str, str]]:

    generator = SqlGenerator(**generator_args)
    try:
        return generator.sql_for(pairs, record.format, max_new_tokens=max_new_tokens)
    finally:
        generator.close()


def self_check(
    src,
    model_dir: Path,
    gguf_file: Path | None = None,
    questions: int = DEFAULT_QUESTIONS,
    progress=print,
    max_new_tokens: int | None = None,
) -> SelfCheck:
    """Ask the export (a merged folder, or a GGUF file with the merged folder's tokenizer) and the adapter the
    same held-out questions (answers of up to max_new_tokens, default MAX_NEW_TOKENS). Never raises for a bad
    export: that is what it reports."""

    started = time.time()
    max_new_tokens = max_new_tokens or MAX_NEW_TOKENS
    if questions <= 0:
        return SelfCheck(skipped="turned off (0 questions asked).")
    if src.record is None:
        return SelfCheck(skipped="the training prompt of this adapter is unknown (no studio_prompt.json).")
    try:
        pairs = held_out_pairs(src.adapter_dir, src.run_id, questions)
    except NoQuestions as e:
        return SelfCheck(skipped=str(e))
    if training_busy_message():
        return SelfCheck(skipped=TRAINING_BUSY)
    what = f"the GGUF file {Path(gguf_file).name}" if gguf_file else "the merged model"
    try:
        with generating("export self-check"):
            progress(f"checking: {len(pairs)} held-out questions through {what} ...")
            try:
                exported = _answers(
                    {"model_choice": str(model_dir), "gguf_file": gguf_file},
                    pairs,
                    src.record,
                    max_new_tokens,
                )
            except Exception as e:  # noqa: BLE001 - a broken export is the finding, not a crash
                text = str(e).strip().splitlines()[0][:300] if str(e).strip() else ""
                return SelfCheck(
                    len(pairs),
                    error=f"{type(e).__name__}: {text}".rstrip(": "),
                    seconds=time.time() - started,
                )
            progress(f"checking: the same {len(pairs)} questions through the adapter ...")
            try:
                adapter = _answers(
                    {"model_choice": src.base_model, "adapter_path": str(src.adapter_dir)},
                    pairs,
                    src.record,
                    max_new_tokens,
                )
            except Exception as e:  # noqa: BLE001 - the export is fine as far as we know; say why there is no check
                return SelfCheck(skipped=f"the adapter itself could not be run ({type(e).__name__}).")
    except BusyError:  # a training run started between the question and the lease
        return SelfCheck(skipped=TRAINING_BUSY)
    differences = [
        {
            "question": p.question,
            "adapter_raw": a[0],
            "adapter_sql": a[1],
            "export_raw": x[0],
            "export_sql": x[1],
        }
        for p, a, x in zip(pairs, adapter, exported, strict=True)
        if a[0] != x[0]
    ]
    return SelfCheck(len(pairs), len(pairs) - len(differences), differences, seconds=time.time() - started)


def tag_run(run_id: str, fmt: str, check: SelfCheck, progress=print, tracking_uri: str | None = None) -> None:
    """Record the check on the training run; MLflow being away only costs the tags."""
    if not run_id:
        return
    from mlflow.tracking import MlflowClient

    try:
        client = MlflowClient(tracking_uri)
        for key, value in check.tags(fmt).items():
            client.set_tag(run_id, key, value)
    except Exception as e:  # noqa: BLE001 - the export is written; the tags are a copy of the README's line
        progress(
            f"could not tag the MLflow run with the self-check ({type(e).__name__}); it is in the README."
        )
