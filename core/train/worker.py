"""The training worker: one function, run in a background thread by the engine (core.train.engine).

pairs -> validated, formatted prompt/completion rows -> MLflow run (core.tracking.run: the job's journal plus a
sync thread, so a slow or dead server never stalls training) -> Unsloth model + LoRA -> TRL SFTTrainer with a
checkpoint every N steps (a killed job resumes from the last one) -> adapter saved (temp folder, then renamed)
and logged as an artifact. Progress, metrics and the stop request travel through `ProgressCallback`
(core.train.callbacks); errors end as status "failed" with a short message, never as an exception out of the
thread.
"""

import gc
import hashlib
import json
import os
import shutil
import time
import traceback
from pathlib import Path

from core.config import TrainConfig
from core.data import (
    Schema,
    as_prompt_completion,
    build_messages,
    count_tokens_fn,
    load_pairs,
    load_schema_file,
    parse_schema,
    render_example,
    schema_ddl_only,
    split_pairs,
    trainable_pairs,
    validate_pairs,
)
from core.db import connect, introspect, merge_preflight, preflight
from core.prompt_record import PromptRecord
from core.runstate import RunState
from core.train.batching import plan_batches
from core.train.callbacks import friendly_error, make_progress_callback
from core.train.jobs import write_job

# Eval loss is measured on at most this many held-out rows (it runs every quarter of the steps and is slow on
# a CPU); execution accuracy uses all of them.
EVAL_LOSS_ROWS = 32
SPLIT_FILE = "split.json"  # the rows trained on and held out, in the job folder and as an MLflow artifact


def load_dataset(cfg: TrainConfig, tokenizer=None):
    """(pairs, schema, schema_text, report) for a config. Raises DataError/SchemaError with clear messages."""
    pairs = load_pairs(cfg.data_path)
    db = connect(cfg.database, ddl_dialect=cfg.dialect) if cfg.database else None
    if cfg.schema_path:
        schema = load_schema_file(cfg.schema_path, cfg.dialect)
    elif cfg.schema_text.strip():
        schema = parse_schema(cfg.schema_text, cfg.dialect)
    else:  # with a connected database, the schema comes from the database itself
        schema = introspect(db).to_schema(cfg.dialect) if db is not None else Schema()
    schema_text = schema_ddl_only(schema, cfg.dialect)
    counter = count_tokens_fn(tokenizer, cfg.system_template, cfg.dialect, schema_text) if tokenizer else None
    report = validate_pairs(pairs, schema, cfg.dialect, counter, cfg.max_seq_length)
    if db is not None:  # what runs on the database is never an error; what fails there is
        report = merge_preflight(report, pairs, preflight(pairs, db, cfg.dialect))
    return pairs, schema, schema_text, report


def dataset_hash(rows: list[dict]) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:16]


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

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


def _tracking_uri() -> str:
    """The environment's URI first (ensure_server sets it), else MLflow's own default."""
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    try:
        import mlflow
    except ImportError:
        return ""
    return mlflow.get_tracking_uri()


def run_training(cfg: TrainConfig, state: RunState, stop_event, output_dir: Path, callbacks: tuple = (),
                 resume=None, after_training=None) -> None:
    """Train one LoRA adapter. Runs in the engine's worker thread; never raises.

    `callbacks` are extra TrainerCallbacks (benchmarks); `resume` is (checkpoint folder, step) to continue a killed
    job: same output folder, same MLflow run. `after_training(cfg, output_dir, run, state)` (the evaluation, given
    by whoever started the run) is called when training completed and `cfg.evaluate_after` asks for it, with the
    held-out rows in the job's split.json, before the MLflow run is closed."""
    from core.tracking import run as mlflow_run

    model = trainer = None
    run = mlflow_run.NullRun()
    try:
        state.log("loading Unsloth (first time takes ~15 s on CPU)")
        import torch
        import unsloth  # noqa: F401  - must come before transformers/trl/peft: it patches them
        from datasets import Dataset
        from trl import SFTConfig, SFTTrainer
        from unsloth import FastLanguageModel

        from core.train.models import load_tokenizer, resolve_model

        cuda = torch.cuda.is_available()
        backend = "unsloth-cuda" if cuda else "unsloth-cpu"
        four_bit = cfg.load_in_4bit if cfg.load_in_4bit is not None else cuda
        if four_bit and not cuda:
            state.log("4-bit loading needs a CUDA GPU: loading in full precision on CPU instead")
            four_bit = False
        source = resolve_model(cfg.model, progress=state.log)
        tokenizer = load_tokenizer(cfg.model, cfg.trust_remote_code)
        pairs, schema, schema_text, report = load_dataset(cfg, tokenizer)
        usable = trainable_pairs(pairs, report) if cfg.exclude_error_rows else pairs
        if not usable:
            raise ValueError(f"No trainable rows: all {len(pairs)} rows have errors. Fix them (see the validation "
                             "report) and start again.")
        train_pairs, eval_pairs = split_pairs(usable, cfg.eval_fraction, cfg.seed) if cfg.eval_fraction else (usable, [])

        def rows(ps):
            return [as_prompt_completion(build_messages(p, cfg.system_template, cfg.dialect, schema_text)) for p in ps]

        train_rows, eval_rows = rows(train_pairs), rows(eval_pairs)
        length_of = dict(zip((p.row for p in pairs), report.token_lengths, strict=False))
        plan = plan_batches(cfg, [length_of.get(p.row, 0) for p in train_pairs if p.row in length_of], cuda)
        packing = plan.packing
        state.update(backend=backend, train_rows=len(train_rows), eval_rows=len(eval_rows), model=cfg.model)
        state.log(f"{len(train_rows)} training rows, {len(eval_rows)} eval rows, backend {backend}; "
                  f"{plan.describe()}")

        run = mlflow_run.TrackedRun(output_dir, state, _tracking_uri())
        if resume:
            run.reopen(resume[1])
        else:
            run.open(cfg.experiment, cfg.run_name or f"sql-lora-r{cfg.rank}-{time.strftime('%m%d-%H%M%S')}")
        run.log_params({f"cfg.{k}": v for k, v in cfg.to_dict().items() if k != "schema_text"})
        run.set_tags({"backend": backend, "base_model": cfg.model, "dataset_hash": dataset_hash(train_rows),
                      "train_rows": len(train_rows), "eval_rows": len(eval_rows), "load_in_4bit": four_bit,
                      "packing": packing, "micro_batch_tokens": plan.micro_batch_tokens,
                      "pairs_per_step": round(plan.pairs_per_step, 1), "job_id": state.job_id, **library_versions()})
        run.log_dict(cfg.to_dict(), "config.json")
        run.log_dict(report.to_dict(), "validation_report.json")
        samples = [render_example(build_messages(p, cfg.system_template, cfg.dialect, schema_text), tokenizer).text
                   for p in train_pairs[:5]]
        run.log_text("\n\n".join(samples), "samples.txt")
        split = {"train_rows": [p.row for p in train_pairs], "eval_rows": [p.row for p in eval_pairs]}
        (output_dir / SPLIT_FILE).write_text(json.dumps(split), encoding="utf-8")
        run.log_dict(split, SPLIT_FILE)

        state.log(f"loading {cfg.model}")
        model, tokenizer = FastLanguageModel.from_pretrained(
            model_name=source, max_seq_length=plan.max_length, load_in_4bit=four_bit, dtype=None,
            trust_remote_code=cfg.trust_remote_code)
        from core.data import ensure_chat_template
        ensure_chat_template(tokenizer)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        model = FastLanguageModel.get_peft_model(
            model, r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
            target_modules=list(cfg.target_modules), bias="none",
            use_gradient_checkpointing="unsloth", random_state=cfg.seed)

        args = SFTConfig(
            output_dir=str(output_dir / "checkpoints"), max_steps=cfg.max_steps,
            per_device_train_batch_size=plan.per_device_batch, gradient_accumulation_steps=plan.grad_accum,
            warmup_steps=min(cfg.warmup_steps, cfg.max_steps - 1), learning_rate=cfg.learning_rate, logging_steps=cfg.logging_steps,
            optim="adamw_8bit" if cuda else "adamw_torch", weight_decay=0.01, lr_scheduler_type="linear",
            seed=cfg.seed, max_length=plan.max_length, packing=packing,
            completion_only_loss=cfg.answer_only_loss, run_name=cfg.run_name or None,
            # checkpoints let a killed run resume; only the last 2 are kept (each holds the optimizer state)
            save_strategy="steps" if cfg.checkpoint_every else "no", save_steps=cfg.checkpoint_every or None,
            save_total_limit=2, report_to="none",  # metrics go to MLflow through the job's journal (our callback)
            include_num_input_tokens_seen="non_padding", dataloader_num_workers=0,
            eval_strategy="steps" if eval_rows else "no",
            eval_steps=max(5, cfg.max_steps // 4) if eval_rows else None,  # eval loss costs time: about 4 points
            per_device_eval_batch_size=cfg.batch_size, disable_tqdm=True,
        )
        trainer = SFTTrainer(
            model=model, processing_class=tokenizer, args=args,
            train_dataset=Dataset.from_list(train_rows),
            eval_dataset=Dataset.from_list(eval_rows[:EVAL_LOSS_ROWS]) if eval_rows else None,
            callbacks=[make_progress_callback(state, stop_event, run), *callbacks],
        )
        run.log_dict(args.to_dict(), "training_args.json")
        state.update(status="running", started_at=state.started_at or time.time())
        write_job(output_dir, status="running")
        trainer.train(resume_from_checkpoint=str(resume[0]) if resume else None)

        stopped = stop_event.is_set()
        adapter = output_dir / "adapter"
        record = PromptRecord(cfg.model, cfg.system_template, cfg.dialect, schema_text)
        _save_adapter(model, tokenizer, adapter, record)
        state.log(f"adapter saved to {adapter}")
        run.log_artifacts(adapter, "adapter")
        outcome = "stopped" if stopped else "completed"
        run.set_tags({"outcome": outcome, "adapter_path": str(adapter)})
        if after_training is not None and cfg.evaluate_after and eval_pairs and not stopped:
            del trainer, model  # free memory before loading the models for generation
            trainer = model = None
            gc.collect()
            after_training(cfg, output_dir, run, state)
        if not run.close("FINISHED"):
            state.log("MLflow has not received everything yet: the rest is sent in the background when it answers")
        shutil.rmtree(output_dir / "checkpoints", ignore_errors=True)  # the adapter is saved: no resume needed
        write_job(output_dir, status=outcome, step=state.step, finished=time.time())
        state.update(status=outcome, adapter_path=str(adapter), finished_at=time.time(),
                     message=(f"Stopped at step {state.step} of {state.total_steps}; the adapter is saved and usable."
                              if stopped else f"Completed {state.step} steps."))
        state.log(state.message)
    except BaseException as exc:  # noqa: BLE001 - the thread must end with a status, whatever happened
        message = friendly_error(exc, cfg)
        traceback.clear_frames(exc.__traceback__)  # the frames' locals hold the failed step's GPU tensors
        state.log("failed: " + message)
        if os.environ.get("STUDIO_DEBUG"):
            traceback.print_exc()
        run.set_tags({"outcome": "failed", "error": message[:250]})
        run.close("FAILED", wait_s=5.0)
        try:
            write_job(output_dir, status="failed", error=message, step=state.step, finished=time.time())
        except OSError:
            pass  # the disk may be the problem; the state below still tells the user
        state.update(status="failed", error=message, finished_at=time.time(), message=f"Failed: {message}")
    finally:
        del model, trainer  # the exception's frames are gone by now: nothing else holds the tensors
        gc.collect()
        _release_unsloth_buffers()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass
