"""The training worker: one function, run in a background thread by the engine (core.engine).

pairs -> validated, formatted prompt/completion rows -> MLflow run (this thread) -> Unsloth model + LoRA ->
TRL SFTTrainer(report_to=["mlflow"]) -> adapter saved (temp folder, then renamed) and logged as an artifact.
Progress and the stop request travel through `ProgressCallback`; errors end as status "failed" with a
short message, never as an exception out of the thread.
"""

import gc
import hashlib
import json
import os
import time
import traceback
from pathlib import Path

from core.batching import plan_batches
from core.chatml import as_prompt_completion, build_messages, count_tokens_fn, render_example
from core.config import TrainConfig
from core.data import load_pairs
from core.prompt_record import PromptRecord
from core.runstate import RunState
from core.schema import Schema, load_schema_file, parse_schema, schema_ddl_only
from core.split import split_pairs
from core.validate import trainable_pairs, validate_pairs

# Eval loss is measured on at most this many held-out rows (it runs every quarter of the steps and is slow on
# a CPU); execution accuracy uses all of them.
EVAL_LOSS_ROWS = 32


def load_dataset(cfg: TrainConfig, tokenizer=None):
    """(pairs, schema, schema_text, report) for a config. Raises DataError/SchemaError with clear messages."""
    pairs = load_pairs(cfg.data_path)
    if cfg.schema_path:
        schema = load_schema_file(cfg.schema_path, cfg.dialect)
    else:
        schema = parse_schema(cfg.schema_text, cfg.dialect) if cfg.schema_text.strip() else Schema()
    schema_text = schema_ddl_only(schema, cfg.dialect)
    counter = count_tokens_fn(tokenizer, cfg.system_template, cfg.dialect, schema_text) if tokenizer else None
    report = validate_pairs(pairs, schema, cfg.dialect, counter, cfg.max_seq_length)
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


def friendly_error(exc: BaseException, cfg: TrainConfig) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    if "out of memory" in text.lower():
        return (f"The GPU ran out of memory. Lower the tokens per micro-batch (now {cfg.batch_tokens or 'auto'}) "
                f"or the batch size (now {cfg.batch_size}), or the max sequence length (now {cfg.max_seq_length}), "
                "turn on 4-bit loading, or pick a smaller model.")
    return text.splitlines()[0][:400] if text else type(exc).__name__


def make_progress_callback(state: RunState, stop_event, mlflow_logger):
    """A TrainerCallback that mirrors progress into `state` and honours the stop request."""
    from transformers import TrainerCallback

    class ProgressCallback(TrainerCallback):
        def __init__(self):
            self.last_time, self.last_tokens = None, 0

        def on_train_begin(self, args, st, control, **kw):
            self.last_time = time.time()
            state.update(status="running", total_steps=st.max_steps)
            state.log(f"training started: {st.max_steps} steps")

        def on_step_end(self, args, st, control, **kw):
            state.update(step=st.global_step, epoch=st.epoch or 0.0)
            if stop_event.is_set():
                control.should_training_stop = True
                state.update(status="stopping")

        def on_log(self, args, st, control, logs=None, **kw):
            logs = logs or {}
            now, tokens = time.time(), int(getattr(st, "num_input_tokens_seen", 0) or 0)
            changes = {"step": st.global_step, "tokens_seen": tokens}
            if tokens and self.last_time and now > self.last_time and tokens > self.last_tokens:
                tps = (tokens - self.last_tokens) / (now - self.last_time)
                changes["tokens_per_second"] = tps
                mlflow_logger("tokens_per_second", tps, st.global_step)
            self.last_time, self.last_tokens = now, tokens
            if "loss" in logs:
                changes["last_loss"] = float(logs["loss"])
                state.logged_at[st.global_step] = now
            state.update(**changes)
            shown = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in logs.items()
                     if k in ("loss", "eval_loss", "learning_rate", "grad_norm", "epoch")}
            if shown:
                state.log(f"step {st.global_step}/{st.max_steps} " + " ".join(f"{k}={v}" for k, v in shown.items()))

    return ProgressCallback()


def _save_adapter(model, tokenizer, target: Path, record: PromptRecord) -> None:
    """Write to a temp folder, then rename: a half-written adapter is never presented as complete. The prompt
    record travels inside the folder, so exports can rebuild the exact training prompt."""
    tmp = target.with_name(target.name + ".partial")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    record.save(tmp)
    tmp.rename(target)


def _evaluate_after(cfg, eval_pairs, schema_text, adapter, run, state) -> None:
    """Base vs adapter execution accuracy on the held-out rows, logged to the run. Failures only warn."""
    from core.evaluate import default_data_for, evaluate, log_to_mlflow, schema_ddl_for
    from core.sqlexec import open_database

    state.update(status="evaluating")
    try:
        db = open_database("duckdb", schema_ddl_for(cfg), default_data_for(cfg), cfg.dialect)
        report = evaluate(eval_pairs, db, cfg, schema_text, adapter, progress=state.log)
        if run.active:
            log_to_mlflow(run.run_id, report)
        b, a = report.summaries["base"]["exec_accuracy"], report.summaries["adapter"]["exec_accuracy"]
        state.update(evaluation={k: v for k, v in report.summaries.items()})
        state.log(f"execution accuracy on {report.rows} held-out rows: base {b:.0%}, adapter {a:.0%}")
    except Exception as e:  # noqa: BLE001 - the adapter is saved; a failed evaluation must not fail the run
        state.log(f"evaluation failed: {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}")


def run_training(cfg: TrainConfig, state: RunState, stop_event, output_dir: Path, callbacks: tuple = ()) -> None:
    """Train one LoRA adapter. Runs in the engine's worker thread; never raises."""
    from core import mlflow_run

    model = trainer = None
    run = mlflow_run.NullRun()
    try:
        state.log("loading Unsloth (first time takes ~15 s on CPU)")
        import torch
        import unsloth  # noqa: F401  - must come before transformers/trl/peft: it patches them
        from datasets import Dataset
        from trl import SFTConfig, SFTTrainer
        from unsloth import FastLanguageModel

        from core.models import load_tokenizer, resolve_model

        cuda = torch.cuda.is_available()
        backend = "unsloth-cuda" if cuda else "unsloth-cpu"
        four_bit = cfg.load_in_4bit if cfg.load_in_4bit is not None else cuda
        if four_bit and not cuda:
            state.log("4-bit loading needs a CUDA GPU: loading in full precision on CPU instead")
            four_bit = False
        source = resolve_model(cfg.model, progress=state.log)
        tokenizer = load_tokenizer(cfg.model)
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

        run = mlflow_run.open_run(cfg, state)
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
        run.log_dict({"train_rows": [p.row for p in train_pairs], "eval_rows": [p.row for p in eval_pairs]},
                     "split.json")

        state.log(f"loading {cfg.model}")
        model, tokenizer = FastLanguageModel.from_pretrained(
            model_name=source, max_seq_length=plan.max_length, load_in_4bit=four_bit, dtype=None)
        from core.chatml import ensure_chat_template
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
            completion_only_loss=cfg.answer_only_loss, save_strategy="no",
            report_to=["mlflow"] if run.active else "none", run_name=cfg.run_name or None,
            include_num_input_tokens_seen="non_padding", dataloader_num_workers=0,
            eval_strategy="steps" if eval_rows else "no",
            eval_steps=max(5, cfg.max_steps // 4) if eval_rows else None,  # eval loss costs time: about 4 points
            per_device_eval_batch_size=cfg.batch_size, disable_tqdm=True,
        )
        trainer = SFTTrainer(
            model=model, processing_class=tokenizer, args=args,
            train_dataset=Dataset.from_list(train_rows),
            eval_dataset=Dataset.from_list(eval_rows[:EVAL_LOSS_ROWS]) if eval_rows else None,
            callbacks=[make_progress_callback(state, stop_event, run.log_metric), *callbacks],
        )
        state.update(status="running", started_at=state.started_at or time.time())
        trainer.train()

        stopped = stop_event.is_set()
        adapter = output_dir / "adapter"
        record = PromptRecord(cfg.model, cfg.system_template, cfg.dialect, schema_text)
        _save_adapter(model, tokenizer, adapter, record)
        state.log(f"adapter saved to {adapter}")
        run.log_artifacts(adapter, "adapter")
        outcome = "stopped" if stopped else "completed"
        run.set_tags({"outcome": outcome, "adapter_path": str(adapter)})
        if cfg.evaluate_after and eval_pairs and not stopped:
            del trainer, model  # free memory before loading the models for generation
            trainer = model = None
            gc.collect()
            _evaluate_after(cfg, eval_pairs, schema_text, str(adapter), run, state)
        run.close("FINISHED")
        state.update(status=outcome, adapter_path=str(adapter), finished_at=time.time(),
                     message=(f"Stopped at step {state.step} of {state.total_steps}; the adapter is saved and usable."
                              if stopped else f"Completed {state.step} steps."))
        state.log(state.message)
    except BaseException as exc:  # noqa: BLE001 - the thread must end with a status, whatever happened
        message = friendly_error(exc, cfg)
        state.log("failed: " + message)
        if os.environ.get("STUDIO_DEBUG"):
            traceback.print_exc()
        run.set_tags({"outcome": "failed", "error": message[:250]})
        run.close("FAILED")
        state.update(status="failed", error=message, finished_at=time.time(), message=f"Failed: {message}")
    finally:
        del model, trainer
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass
