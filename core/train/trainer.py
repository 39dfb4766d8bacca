"""Training one LoRA adapter: `run_training`, which the worker process (core.job.worker, started by the engine for
each run) calls first.

pairs -> validated, formatted prompt/completion rows -> MLflow run (core.tracking.run: the job's journal; the
studio watching the job sends it, so a slow or dead server never stalls training) -> Unsloth model + LoRA -> TRL
SFTTrainer with a checkpoint every N steps (an interrupted job resumes from the last one) -> adapter saved (temp
folder, then renamed) and logged as an artifact. The model with its LoRA layers and the SFTTrainer are built by
core.train.sft; this module keeps the run's bookkeeping around them. The config comes from the job folder's job.json;
progress, log lines and the stop request travel through the folder (core.train.progress, core.train.callbacks).
Errors end as status "failed" with a short message. Under DDP only rank 0 writes the journal, the job's files and the adapter.
"""

import gc
import hashlib
import json
import os
import shutil
import sys
import time
import traceback
from dataclasses import asdict, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from core.config import TrainConfig
from core.data import render_example
from core.prompt_record import PROMPT_FILE, PromptRecord
from core.runstate import RunState, Status
from core.tracking import run as mlflow_run
from core.tracking import tracking_uri
from core.train import resident
from core.train.batching import plan_batches
from core.train.callbacks import friendly_error
from core.train.dataset import prepare_run_data
from core.train.estimate import as_job_fields, estimate_run, run_key, suggested_steps
from core.train.jobs import REINFORCE_CHECKPOINTS, SUPERVISED_CHECKPOINTS, write_job
from core.train.model_size import model_dims
from core.train.models import load_tokenizer, resolve_model
from core.train.precision import attention_kernels, base_dtype, checkpointing, four_bit_for, held_as
from core.train.precision import describe as describe_precision
from core.train.reinforce import run_reinforcement
from core.train.run_database import database_for
from core.train.sft import EVAL_LOSS_ROWS, lora_model, sft_trainer
from core.train.threads import apply_threads

SPLIT_FILE = "split.json"  # the rows trained on and held out, in the job folder and as an MLflow artifact


def dataset_hash(rows: list[dict]) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:16]


def library_versions() -> dict[str, str]:

    out = {}
    for name in ("unsloth", "unsloth_zoo", "torch", "transformers", "trl", "peft", "mlflow"):
        try:
            out[f"version.{name}"] = version(name)
        except PackageNotFoundError:
            out[f"version.{name}"] = "not installed"
    return out


def _save_adapter(model, tokenizer, target: Path, record: PromptRecord) -> None:
    """Write to a temp folder, then rename: a half-written adapter is never presented as complete. The prompt
    record travels inside the folder, so exports can rebuild the exact training prompt."""
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)  # left by a save that was killed or ran out of disk
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        record.save(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if target.exists():  # a resumed job saves again
        shutil.rmtree(target)
    tmp.rename(target)


def _release_unsloth_buffers() -> None:
    """Unsloth keeps its offloaded-checkpointing GPU buffer sized to the largest step it saw (18 GB after an
    out-of-memory step on a 1.5B model, measured on an H200); shrink it so the next run has the memory."""
    try:
        from unsloth_zoo.gradient_checkpointing import reset_unsloth_gradient_checkpointing_buffers

        reset_unsloth_gradient_checkpointing_buffers()
    except Exception:  # noqa: BLE001 - an optimisation of memory, never a reason to fail
        pass


def _report_rank(output_dir: Path, rank: int, error: str) -> None:
    """Every process writes rank-N.json: its peak GPU memory (for the memory estimates and the benchmarks) and its
    error, so that a failure on any GPU of a DDP run is explained even when rank 0 only saw its peers vanish."""
    peak = 0.0
    try:
        import torch

        if torch.cuda.is_available():
            peak = torch.cuda.max_memory_allocated() / 2**30
            torch.cuda.empty_cache()
    except ImportError:
        pass
    try:
        (Path(output_dir) / f"rank-{rank}.json").write_text(
            json.dumps(
                {
                    "peak_gpu_gib": round(peak, 2),
                    "error": error,
                    "devices": os.environ.get("CUDA_VISIBLE_DEVICES", ""),  # a queue's runs side by side
                }
            ),
            encoding="utf-8",
        )
    except OSError:
        pass


def run_training(
    cfg: TrainConfig,
    state: RunState,
    stop_event,
    output_dir: Path,
    callbacks: tuple = (),
    resume=None,
    send: bool = True,
    keep_open: bool = False,
    keep_model: bool = False,
):
    """Train one LoRA adapter; never raises (the ending is written to the state and job.json).

    `callbacks` are extra TrainerCallbacks (benchmarks); `resume` is (checkpoint folder, step) to continue an
    interrupted job: same output folder, same MLflow run. `send=False` only journals the MLflow run (the worker
    process: the studio sends it). `keep_open`: when training completes with held-out rows and `cfg.evaluate_after`,
    the MLflow run is left open and returned (status "evaluating"): the caller evaluates, then ends the run with
    `end_run`. Otherwise returns None. `keep_model`: a resident worker keeps the base model loaded for its next run
    (core.train.resident); a run takes a kept base back whenever it is the same one."""

    rank = int(os.environ.get("RANK", "0"))
    lead = rank == 0  # under DDP, rank 0 alone writes the job's files and the journal
    model = trainer = None
    run = mlflow_run.NullRun()
    error = ""
    try:
        if "unsloth" not in sys.modules:  # a standby or resident worker has it already
            state.log("loading Unsloth (first time takes ~15 s on CPU)")
        import torch
        import unsloth  # noqa: F401  - must come before transformers/trl/peft: it patches them

        cuda = torch.cuda.is_available()
        if cuda:  # a resident worker's earlier run must not count in this run's peak
            torch.cuda.reset_peak_memory_stats()
        backend = "unsloth-cuda" if cuda else "unsloth-cpu"
        if not cuda:
            state.log(apply_threads())
        dtype = base_dtype(cuda)
        if cfg.load_in_4bit and not cuda:
            state.log("4-bit loading needs a CUDA GPU: loading in full precision on CPU instead")
        source = resolve_model(cfg.model, progress=state.log)
        dims = model_dims(cfg.model)
        four_bit = four_bit_for(cfg, cuda, dims)
        tokenizer = load_tokenizer(cfg.model, cfg.trust_remote_code)
        data = prepare_run_data(cfg, tokenizer, output_dir)  # the studio's validation, when it left one
        pairs, report, train_pairs, eval_pairs, record = (
            data.pairs,
            data.report,
            data.train,
            data.held_out,
            data.record,
        )
        fmt = record.format
        train_rows, eval_rows = data.rows(train_pairs), data.rows(eval_pairs)
        length_of = dict(zip((p.row for p in pairs), report.token_lengths, strict=False))
        devices = int(os.environ.get("WORLD_SIZE", "1"))
        plan = plan_batches(
            cfg, [length_of.get(p.row, 0) for p in train_pairs if p.row in length_of], cuda, devices
        )
        packing = plan.packing
        checkpointed = checkpointing(cfg, cuda, dims, plan.micro_batch_tokens, four_bit)
        state.log(describe_precision(dtype, four_bit, checkpointed))
        if (
            not cfg.max_steps
        ):  # 0: the suggested number, decided here where the pairs and their lengths are known
            steps, why = suggested_steps(cfg, plan, len(train_pairs), cuda)
            cfg = replace(cfg, max_steps=steps)
            state.update(total_steps=steps)
            state.log(f"steps: {steps} ({why})")
            if lead:  # a resumed run keeps the number
                write_job(output_dir, config=cfg.to_dict(), total_steps=steps)
        state.update(backend=backend, train_rows=len(train_rows), eval_rows=len(eval_rows), model=cfg.model)
        state.log(
            f"{len(train_rows)} training rows, {len(eval_rows)} eval rows, backend {backend}; "
            f"{plan.describe()}"
        )
        if eval_pairs and not cfg.evaluate_after:
            state.log(
                f"{len(eval_pairs)} rows held out (eval split {cfg.eval_fraction:g}) for the eval loss only: "
                "this run does not evaluate when it ends (set the eval split to 0 to train on them)"
            )
        if lead:
            guess = estimate_run(cfg, plan, len(train_rows), cuda, len(eval_pairs) if keep_open else 0)
            write_job(
                output_dir,
                eval_rows=len(eval_pairs),
                **as_job_fields(guess, run_key(cfg.model, cuda, held_as(cuda, four_bit, checkpointed))),
            )
            state.log(guess.describe())
            state.update(
                later_steps=cfg.grpo_steps, later_s=guess.reinforce_s
            )  # the ETA before the reinforcement

        run = (
            mlflow_run.TrackedRun(output_dir, state, tracking_uri(), send=send)
            if lead
            else mlflow_run.NullRun()
        )
        if resume:
            run.reopen(resume[1])
        else:
            run.open(
                cfg.experiment,
                cfg.run_name or f"sql-lora-r{cfg.rank}-{time.strftime('%m%d-%H%M%S')}",
                tags={"mlflow.parentRunId": cfg.parent_run_id} if cfg.parent_run_id else None,
            )
        run.log_params({f"cfg.{k}": v for k, v in cfg.to_dict().items() if k != "schema_text"})
        run.set_tags(
            {
                "backend": backend,
                "base_model": cfg.model,
                "dataset_hash": dataset_hash(train_rows),
                "train_rows": len(train_rows),
                "eval_rows": len(eval_rows),
                # which rows were held out, as a hash: runs compared on a leaderboard must share them
                "held_out_rows": dataset_hash([{"row": p.row, "sql": p.sql} for p in eval_pairs]),
                "load_in_4bit": four_bit,
                "packing": packing,
                "micro_batch_tokens": plan.micro_batch_tokens,
                "pairs_per_step": round(plan.pairs_per_step, 1),
                "job_id": state.job_id,
                **library_versions(),
            }
        )
        run.log_dict(cfg.to_dict(), "config.json")
        run.log_dict(asdict(record), PROMPT_FILE)
        if lead:
            record.save(output_dir)
        run.log_dict(report.to_dict(), "validation_report.json")
        samples = [render_example(fmt.messages(p), tokenizer).text for p in train_pairs[:5]]
        run.log_text("\n\n".join(samples), "samples.txt")
        split = {"train_rows": [p.row for p in train_pairs], "eval_rows": [p.row for p in eval_pairs]}
        if lead:
            (output_dir / SPLIT_FILE).write_text(json.dumps(split), encoding="utf-8")
        run.log_dict(split, SPLIT_FILE)

        base = resident.base_key(source, four_bit, plan.max_length, cfg.trust_remote_code, str(dtype))
        model, tokenizer = lora_model(cfg, source, base, plan, four_bit, dtype, checkpointed, state)

        # the rows as the last run of this resident worker prepared them, when they are the same rows, the same way
        prepared_key = (
            base,
            dataset_hash(train_rows),
            dataset_hash(eval_rows[:EVAL_LOSS_ROWS]),
            packing,
            cfg.answer_only_loss,
        )
        prepared = resident.take_prepared(prepared_key)
        state.log(
            "LoRA layers in place; "
            + ("the rows are prepared already (the previous run's)" if prepared else "preparing the rows")
        )
        trainer, args = sft_trainer(
            cfg,
            model,
            tokenizer,
            plan,
            output_dir,
            train_rows,
            eval_rows,
            prepared,
            cuda,
            devices,
            (state, stop_event, run),
            callbacks,
            checkpointed,
        )
        state.log("trainer ready; the first step follows")
        run.log_dict(args.to_dict(), "training_args.json")
        state.update(status="running", started_at=state.started_at or time.time())
        if lead:
            write_job(output_dir, status="running")
        reinforcing = bool(resume) and resume[0].parent.name == REINFORCE_CHECKPOINTS
        # Why the adapter already on disk is the run's, not the model in memory: a reinforcement that failed (the
        # supervised adapter stands), or a resume inside the reinforcement that did not go on (the model in memory
        # holds new, untrained LoRA weights until the reinforcement's checkpoint is loaded).
        supervised_only = ""
        if not reinforcing:  # a resume inside the reinforcement phase has its supervised steps behind it
            with attention_kernels(dtype):
                trainer.train(resume_from_checkpoint=str(resume[0]) if resume else None)
        if cfg.grpo_steps and not stop_event.is_set():
            if lead and not reinforcing:  # the supervised adapter: usable even if the reinforcement fails
                _save_adapter(model, tokenizer, output_dir / "adapter", record)
                write_job(
                    output_dir, supervised_steps=cfg.max_steps, total_steps=cfg.max_steps + cfg.grpo_steps
                )
            del trainer
            trainer = None
            keep_model = False  # its forward carries the reinforcement's patches: a new run loads afresh
            try:
                trainer = run_reinforcement(
                    model,
                    tokenizer,
                    cfg,
                    train_pairs,
                    fmt,
                    database_for(cfg),
                    state,
                    stop_event,
                    run,
                    output_dir,
                    cuda,
                    resume[0] if reinforcing else None,
                    checkpointed,
                )
            except Exception as e:  # noqa: BLE001 - the supervised adapter is saved: it stays the run's adapter
                supervised_only = friendly_error(e, cfg)
                state.log(f"the reinforcement failed ({supervised_only}); the supervised adapter is kept")
                run.set_tags({"reinforce_error": supervised_only[:250]})
                state.update(step=cfg.max_steps)  # the kept adapter's step: the reinforcement's went with it
        elif reinforcing:  # stopped before the resumed reinforcement went on: the saved adapter stands
            supervised_only = "stopped before the reinforcement went on"

        stopped = stop_event.is_set()
        outcome = "stopped" if stopped else "completed"
        message = f"Completed {state.step} steps."
        if supervised_only and not stopped:
            message = (
                f"Completed {cfg.max_steps} supervised steps; the reinforcement failed ({supervised_only}), so the "
                "supervised adapter is the run's adapter."
            )
        if stopped:
            why = getattr(stop_event, "reason", "")
            why = f" ({why})" if why and why != "asked" else ""
            message = (
                f"Stopped at step {state.step} of {state.total_steps}{why}; the adapter is saved and usable."
            )
        adapter = output_dir / "adapter"
        if lead:
            if not supervised_only:  # after a failed reinforcement the saved supervised adapter stands
                _save_adapter(model, tokenizer, adapter, record)
            state.log(f"adapter saved to {adapter}")
            run.log_artifacts(adapter, "adapter")
            run.set_tags({"outcome": outcome, "adapter_path": str(adapter)})
            if keep_model:
                resident.keep(base, model, tokenizer)
                resident.keep_prepared(prepared_key, trainer.train_dataset, trainer.eval_dataset)
            if not (
                cfg.keep_checkpoints or cfg.score_checkpoints
            ):  # the adapter is saved: no resume needs them
                for kind in (SUPERVISED_CHECKPOINTS, REINFORCE_CHECKPOINTS):
                    shutil.rmtree(output_dir / kind, ignore_errors=True)
            state.log(message)
            if keep_open and cfg.evaluate_after and eval_pairs and not stopped:
                state.update(status=Status.EVALUATING, adapter_path=str(adapter), message=message)
                write_job(output_dir, status=Status.EVALUATING, step=state.step, message=message)
                return run
            end_run(run, state, output_dir, outcome, message)
        state.update(status=outcome, adapter_path=str(adapter), finished_at=time.time(), message=message)
    except BaseException as exc:  # noqa: BLE001 - the thread must end with a status, whatever happened
        message = error = friendly_error(exc, cfg)
        traceback.clear_frames(exc.__traceback__)  # the frames' locals hold the failed step's GPU tensors
        state.log("failed: " + message)
        resident.drop()  # a failed run's model may be half-changed (an out-of-memory step): never reused
        if os.environ.get("STUDIO_DEBUG"):
            traceback.print_exc()
        run.set_tags({"outcome": "failed", "error": message[:250]})
        run.close("FAILED", wait_s=5.0)
        try:
            if lead:
                write_job(output_dir, status="failed", error=message, step=state.step, finished=time.time())
        except OSError:
            pass  # the disk may be the problem; the state below still tells the user
        state.update(status="failed", error=message, finished_at=time.time(), message=f"Failed: {message}")
    finally:
        del model, trainer  # the exception's frames are gone by now: nothing else holds the tensors
        gc.collect()
        _release_unsloth_buffers()
        _report_rank(output_dir, rank, error)


def end_run(run, state: RunState, output_dir: Path, outcome: str, message: str) -> None:
    """Close the MLflow run and write the job's ending (after its evaluation, when it had one)."""
    if not run.close("FINISHED"):
        state.log("MLflow has not received everything yet: it is sent in the background when it answers")
    write_job(output_dir, status=outcome, step=state.step, finished=time.time(), message=message)
    state.update(status=outcome, finished_at=time.time(), message=message)
