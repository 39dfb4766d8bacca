"""The best checkpoint, not only the last: score every checkpoint a run kept on its held-out rows, and make the best
step the run's adapter.

    scores = score_checkpoints(run_id)     # [{"step", "exec_accuracy", "exec_accuracy_checked"}, ...] (and the final)
    promote(run_id, step)                  # that checkpoint's weights become the run's adapter (MLflow records it)
    best_step_after_training(cfg, folder, run, state)   # the worker, for a run with `score_checkpoints` (sweeps)

A run keeps its checkpoints when it was trained with `keep_checkpoints` (otherwise the last two, deleted when it
completes). Each checkpoint is asked by the same generation process, with the run's prompt record, on the same rows;
the accuracies are logged to the run as `checkpoint_exec_accuracy` by step, so MLflow draws the same curve.
"""

import json
import shutil
from pathlib import Path

from core.evaluate.evaluate import _evaluate
from core.evaluate.generate import generating
from core.evaluate.generator_process import GeneratorProcess
from core.evaluate.of_run import database_for, held_out_pairs, load_run_inputs
from core.prompt_record import PROMPT_FILE, PromptRecord
from core.train.jobs import latest_checkpoint

SCORES_FILE = "checkpoint_scores.json"  # beside the adapter, in the job folder


def checkpoints_of(job_folder: Path) -> list[tuple[int, Path]]:
    """(step, folder) of every complete checkpoint with adapter weights, by step."""
    found = []
    for path in (Path(job_folder) / "checkpoints").glob("checkpoint-*"):
        suffix = path.name.rsplit("-", 1)[-1]
        if (
            suffix.isdigit()
            and (path / "adapter_config.json").exists()
            and (path / "trainer_state.json").exists()
        ):
            found.append((int(suffix), path))
    return sorted(found)


def _job_folder(adapter: str) -> Path:
    folder = Path(adapter).parent
    if not checkpoints_of(folder):
        raise ValueError(
            "This run kept no checkpoint here (they are kept on the machine that trained it, when the run "
            "is trained with 'Keep every checkpoint'). Train with it to score the checkpoints."
        )
    return folder


def score_checkpoints(run_id: str, progress=print, tracking_uri: str | None = None) -> list[dict]:
    """Every kept checkpoint, and the final adapter, scored on the run's held-out rows (the adapter alone: the base
    model's score does not change with the step). Logged to the run; returned by step."""
    from mlflow.tracking import MlflowClient

    cfg, pairs, adapter, record = load_run_inputs(run_id, tracking_uri)
    if not pairs:
        raise ValueError(
            "This run held out no rows (eval split 0): there is nothing to score the checkpoints on."
        )
    scores = score_steps(cfg, pairs, Path(adapter), record, progress)
    client = MlflowClient(tracking_uri)
    for score in scores:
        client.log_metric(run_id, "checkpoint_exec_accuracy", score["exec_accuracy"], step=score["step"])
    return scores


def score_steps(cfg, pairs, adapter: Path, record, progress, final_summary: dict | None = None) -> list[dict]:
    """The scores of every checkpoint beside `adapter` and of the adapter itself (the final step), by step; kept in
    the job folder (SCORES_FILE). `final_summary`: the adapter's summary on the same rows, when it was just made."""
    folder = _job_folder(str(adapter))
    db = database_for(cfg)
    final = _final_step(folder)  # a checkpoint at the final step holds the adapter's weights: scored once
    earlier = [(s, p) for s, p in checkpoints_of(folder) if s != final]
    candidates = earlier if final_summary is not None else [*earlier, (final, adapter)]
    scores = []
    if candidates:  # none left when the evaluation scored the final step and no earlier checkpoint was kept
        with generating("checkpoint scoring"), GeneratorProcess(keep=1) as generator:
            for step, path in candidates:
                progress(f"scoring the checkpoint at step {step} on {len(pairs)} held-out rows ...")
                report = _evaluate(
                    pairs,
                    db,
                    record,
                    [("adapter", str(path), record)],
                    progress,
                    0,
                    cfg.trust_remote_code,
                    generator,
                    {},
                )
                scores.append(_score(step, path, report.summaries["adapter"]))
    if final_summary is not None:
        scores.append(_score(final, adapter, final_summary))
    (folder / SCORES_FILE).write_text(json.dumps(scores, indent=1), encoding="utf-8")
    return scores


def best_step_after_training(cfg, output_dir, run, state) -> None:
    """A run trained with `score_checkpoints` (a sweep's option): when its evaluation is done, score every kept
    checkpoint on the same held-out rows and make the most accurate step its adapter, through the run's journal
    (the worker process). The step is chosen on the rows it is scored on: the leaderboard says which step it is.
    Failures only warn: the adapter is saved."""
    adapter = Path(output_dir) / "adapter"
    try:
        pairs = held_out_pairs(cfg, Path(output_dir) / "split.json")
        record = PromptRecord.load(adapter) or PromptRecord.from_config(cfg)
        # the evaluation has just scored the final adapter on these rows: not asked again
        final = (state.snapshot().get("evaluation") or {}).get("adapter")
        scores = score_steps(cfg, pairs, adapter, record, state.log, final_summary=final)
        for score in scores:
            run.log_metric("checkpoint_exec_accuracy", score["exec_accuracy"], score["step"])
        top = best(scores)
        if top["path"] != str(adapter):
            _copy_weights(Path(top["path"]), adapter)
            run.log_artifacts(adapter, "adapter")
        run.set_tags({"adapter_step": str(top["step"])})
        run.log_metric("adapter_exec_accuracy", top["exec_accuracy"], state.step)
        state.log(
            f"checkpoints scored: step {top['step']} is the most accurate ({top['exec_accuracy']:.0%} on "
            f"{len(pairs)} held-out rows) and is now the adapter"
        )
    except Exception as e:  # noqa: BLE001 - the adapter is saved; a failed scoring must not fail the run
        state.log(
            f"checkpoint scoring failed: {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
        )


def _score(step: int, path: Path, summary: dict) -> dict:
    return {
        "step": step,
        "path": str(path),
        "exec_accuracy": summary["exec_accuracy"],
        "exec_accuracy_checked": summary["exec_accuracy_checked"],
    }


def _kept_scores(folder: Path) -> list[dict]:
    try:
        return json.loads((folder / SCORES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []


def _copy_weights(source: Path, target: Path) -> None:
    for name in ("adapter_model.safetensors", "adapter_config.json"):
        shutil.copyfile(source / name, target / name)


def _final_step(folder: Path) -> int:
    job = (
        json.loads((folder / "job.json").read_text(encoding="utf-8"))
        if (folder / "job.json").exists()
        else {}
    )
    return int(job.get("step") or (latest_checkpoint(folder) or (None, 0))[1])


def best(scores: list[dict]) -> dict:
    """The most accurate step (the earliest of equals: fewer steps, the same answers)."""
    return max(scores, key=lambda s: (s["exec_accuracy"], s["exec_accuracy_checked"], -s["step"]))


def promote(run_id: str, step: int, tracking_uri: str | None = None) -> Path:
    """Make the checkpoint at `step` the run's adapter (its weights; the prompt record stays), and record it."""
    from mlflow.tracking import MlflowClient

    _, _, adapter, _ = load_run_inputs(run_id, tracking_uri)
    folder = _job_folder(adapter)
    source = dict(checkpoints_of(folder)).get(int(step))
    if source is None:
        raise ValueError(
            f"No checkpoint at step {step}: the run kept {[s for s, _ in checkpoints_of(folder)]}."
        )
    target = Path(adapter)
    _copy_weights(source, target)
    client = MlflowClient(tracking_uri)
    client.set_tag(run_id, "adapter_step", str(step))
    scored = {s["step"]: s for s in _kept_scores(folder)}
    if int(step) in scored:  # the leaderboard shows the adapter's accuracy as it now is
        client.log_metric(run_id, "adapter_exec_accuracy", scored[int(step)]["exec_accuracy"])
    client.log_artifacts(run_id, str(target), "adapter")
    if not (target / PROMPT_FILE).exists():
        raise ValueError("The adapter folder lost its prompt record.")
    return target
