"""The supervised fine-tuning itself, as run_training (core.train.trainer) builds it: the base model with its LoRA
layers (Unsloth; a resident worker's base taken back when it is the same one) and TRL's SFTTrainer with its SFTConfig
(the batch plan, the schedule, checkpoints, eval loss). run_training keeps the run's bookkeeping around them: the
data, the MLflow run, the job's files, the adapter and the ending.
"""

from core.config import TrainConfig
from core.data import ensure_chat_template
from core.runstate import RunState
from core.train import resident
from core.train.callbacks import make_progress_callback

# Eval loss is measured on at most this many held-out rows (it runs every quarter of the steps and is slow on
# a CPU); execution accuracy uses all of them.
EVAL_LOSS_ROWS = 32


def lora_model(cfg: TrainConfig, source, base, plan, four_bit, dtype, checkpointed, state: RunState):
    """(model with new LoRA layers, tokenizer): the base this resident worker kept (`base` its key), else loaded."""
    from unsloth import FastLanguageModel

    kept = resident.take(base)
    if kept:
        model, tokenizer = kept
        state.log(
            f"{cfg.model} is still loaded from the previous run in this worker: new LoRA weights and a "
            "new optimizer, no reload"
        )
    else:
        state.log(f"loading {cfg.model}")
        model, tokenizer = FastLanguageModel.from_pretrained(
            model_name=source,
            max_seq_length=plan.max_length,
            load_in_4bit=four_bit,
            dtype=dtype,
            trust_remote_code=cfg.trust_remote_code,
        )
        ensure_chat_template(tokenizer)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
    model = FastLanguageModel.get_peft_model(
        model,
        r=cfg.rank,
        lora_alpha=cfg.alpha,
        lora_dropout=cfg.dropout,
        target_modules=list(cfg.target_modules),
        bias="none",
        use_gradient_checkpointing="unsloth" if checkpointed else False,
        random_state=cfg.seed,
    )
    return model, tokenizer


def sft_trainer(
    cfg: TrainConfig,
    model,
    tokenizer,
    plan,
    output_dir,
    train_rows: list[dict],
    eval_rows: list[dict],
    prepared,
    cuda: bool,
    devices: int,
    progress: tuple,
    callbacks: tuple = (),
    checkpointed: bool = True,
):
    """(trainer, args): TRL's SFTTrainer over the rows (or over the `prepared` datasets a resident worker kept), its
    progress callback made of `progress` (state, stop event, MLflow run), then `callbacks`. `checkpointed`: the run
    recomputes activations (core.train.precision.checkpointing)."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    state, stop_event, run = progress
    args = SFTConfig(
        output_dir=str(output_dir / "checkpoints"),
        max_steps=cfg.max_steps,
        per_device_train_batch_size=plan.per_device_batch,
        gradient_accumulation_steps=plan.grad_accum,
        warmup_steps=min(cfg.warmup_steps, cfg.max_steps - 1),
        learning_rate=cfg.learning_rate,
        logging_steps=cfg.logging_steps,
        optim="adamw_8bit" if cuda else "adamw_torch",
        # TRL turns the Trainer's own checkpointing on by default (recomputing every layer's forward); Unsloth's
        # offloaded checkpointing (lora_model) is the one a run uses when it needs the memory
        gradient_checkpointing=checkpointed,
        weight_decay=0.01,
        lr_scheduler_type="linear",
        seed=cfg.seed,
        max_length=plan.max_length,
        packing=plan.packing,
        completion_only_loss=cfg.answer_only_loss,
        run_name=cfg.run_name or None,
        # checkpoints let a killed run resume; only the last 2 are kept (each holds the optimizer state)
        save_strategy="steps" if cfg.checkpoint_every else "no",
        save_steps=cfg.checkpoint_every or None,
        save_total_limit=None if cfg.keep_checkpoints or cfg.score_checkpoints else 2,
        report_to="none",  # metrics go to MLflow through the job's journal (our callback)
        include_num_input_tokens_seen="non_padding",
        dataloader_num_workers=0,
        eval_strategy="steps" if eval_rows else "no",
        eval_steps=_eval_steps(cfg) if eval_rows else None,
        per_device_eval_batch_size=cfg.batch_size,
        disable_tqdm=True,
        ddp_find_unused_parameters=False
        if devices > 1
        else None,  # LoRA uses all its parameters: skip the search
        dataset_kwargs={"skip_prepare_dataset": True} if prepared else None,
    )
    trainer = SFTTrainer(
        model=model,
        processing_class=tokenizer,
        args=args,
        train_dataset=prepared[0] if prepared else Dataset.from_list(train_rows),
        eval_dataset=(prepared[1] if prepared else Dataset.from_list(eval_rows[:EVAL_LOSS_ROWS]))
        if eval_rows
        else None,
        callbacks=[make_progress_callback(state, stop_event, run, more=cfg.grpo_steps), *callbacks],
    )
    return trainer, args


def _eval_steps(cfg: TrainConfig) -> int:
    """Eval loss costs time: about 4 points. A sweep's trial is scored at its checkpoints (where Optuna may prune it)."""
    if cfg.parent_run_id and cfg.checkpoint_every:
        return cfg.checkpoint_every
    return max(5, cfg.max_steps // 4)
