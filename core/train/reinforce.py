"""The reinforcement phase of a run: after supervised fine-tuning, GRPO (TRL's GRPOTrainer, patched by Unsloth) on the
training pairs' questions, rewarded by the run's own database.

    reward = DatabaseReward(db, dialect, pairs)          # the reward function GRPOTrainer calls
    reward(prompts, completions, gold_sql=[...])          # [1.0, 0.1, 0.0, ...]
    trainer = grpo_trainer(model, tokenizer, cfg, ...)    # continues the supervised adapter

Each step draws `cfg.grpo_generations` answers per question (sampled at the voting temperature), runs each read-only
on the database with the usual timeout and scores it as Arctic-Text2SQL-R1 does: REWARD_RIGHT when it returns the gold
result (compared as the evaluation compares: rows as a multiset, in order only when the gold query orders),
REWARD_RUNS when it runs but returns something else, 0 when it does not run (an error, a timeout, not one read
statement, no SQL at all). The base model earns 0 on nearly every answer (it answers in prose), so GRPO continues the
supervised adapter, never the base model alone.

On a CPU, TRL computes the completions' log-probabilities with a Triton kernel that has no CPU driver; there
`plain_torch_logprobs` puts a plain-torch function of the same contract in its place (the small model's logits fit in
memory whole).
"""

import contextlib

from core.data import Pair
from core.data.metrics import extract_sql, has_order_by, results_match
from core.db import Database, QueryResult
from core.train.callbacks import make_progress_callback
from core.train.jobs import REINFORCE_CHECKPOINTS

REWARD_RIGHT, REWARD_RUNS = 1.0, 0.1
GENERATION_TEMPERATURE = 0.8  # as the sampled candidates of a vote (core.evaluate.vote)
MAX_ANSWER_TOKENS = 128


def sql_reward(sql: str, gold: QueryResult, db: Database, dialect: str, ordered: bool) -> float:
    """One answer's reward: REWARD_RIGHT, REWARD_RUNS or 0."""
    if not sql or not gold.ok:
        return 0.0
    result = db.execute(sql, dialect)
    if not result.ok:
        return 0.0
    if not gold.rows:  # any query that finds nothing would match: running is all such an answer earns
        return REWARD_RUNS
    return REWARD_RIGHT if results_match(gold.rows, result.rows, ordered=ordered) else REWARD_RUNS


class DatabaseReward:
    """GRPOTrainer's reward function: each completion's SQL run on the database against its pair's gold result (the
    dataset's `gold_sql` column; gold results are run once each)."""

    __name__ = "database"  # GRPOTrainer names the reward's metrics after it

    def __init__(self, db: Database, dialect: str):
        self.db, self.dialect = db, dialect
        self._gold: dict[str, tuple[QueryResult, bool]] = {}

    def gold(self, sql: str) -> tuple[QueryResult, bool]:
        if sql not in self._gold:
            self._gold[sql] = (self.db.execute(sql, self.dialect), has_order_by(sql, self.dialect))
        return self._gold[sql]

    def __call__(self, prompts, completions, gold_sql, **kwargs) -> list[float]:
        rewards = []
        for completion, gold_sql_text in zip(completions, gold_sql, strict=True):
            text = completion[-1]["content"] if isinstance(completion, list) else completion
            gold, ordered = self.gold(gold_sql_text)
            rewards.append(sql_reward(extract_sql(text), gold, self.db, self.dialect, ordered))
        return rewards


def prompt_rows(pairs: list[Pair], fmt) -> list[dict]:
    """The GRPO dataset: each training pair's question as the conversation training rendered (system and user
    turns), with its gold SQL for the reward."""
    return [{"prompt": fmt.messages(p)[:-1], "gold_sql": p.sql} for p in pairs]


class _TorchLogProbs:
    """The contract of TRL's chunked log-probability kernel (`_ChunkedLogProbFunction.apply`), in plain torch:
    (log_probs, entropy, log_sum_sq_probs, mean_logits, is_top1), each None unless asked in `outputs`."""

    @staticmethod
    def apply(
        hidden, weight, bias, targets, temperature, chunk_size, softcap=None, logit_scale=1.0, outputs=()
    ):
        import torch

        logits = hidden.float() @ weight.float().t()
        if bias is not None:
            logits = logits + bias.float()
        logits = logits * logit_scale
        if softcap is not None:
            logits = softcap * torch.tanh(logits / softcap)
        logits = logits / temperature
        log_p = torch.log_softmax(logits, dim=-1)
        picked = log_p.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        entropy = -(log_p.exp() * log_p).sum(-1) if "entropy" in outputs else None
        sum_sq = torch.logsumexp(2 * log_p, dim=-1) if "log_sum_sq_probs" in outputs else None
        mean = logits.mean(-1) if "mean_logits" in outputs else None
        top1 = (logits.argmax(-1) == targets) if "is_top1" in outputs else None
        return picked, entropy, sum_sq, mean, top1


@contextlib.contextmanager
def plain_torch_logprobs(cuda: bool):
    """On a CPU, TRL's fused LM head computes with `_TorchLogProbs` instead of its Triton kernel (restored after)."""
    if cuda:
        yield
        return
    import trl.trainer.utils as trl_utils

    kernel = trl_utils._ChunkedLogProbFunction
    trl_utils._ChunkedLogProbFunction = _TorchLogProbs
    try:
        yield
    finally:
        trl_utils._ChunkedLogProbFunction = kernel


def grpo_config(cfg, output_dir: str, cuda: bool, checkpointed: bool = True):
    """GRPOConfig for the phase: `cfg.grpo_steps` steps, each of one question per `grpo_generations` answers on a
    CPU, more questions a step on a GPU (`questions_per_step`)."""
    from trl import GRPOConfig

    generations = cfg.grpo_generations
    return GRPOConfig(
        output_dir=output_dir,
        max_steps=cfg.grpo_steps,
        per_device_train_batch_size=generations * questions_per_step(cuda),
        num_generations=generations,
        max_completion_length=MAX_ANSWER_TOKENS,
        temperature=GENERATION_TEMPERATURE,
        learning_rate=cfg.grpo_learning_rate,
        beta=0.0,  # no reference model: the adapter stays near the supervised one through the small learning rate
        logging_steps=1,
        seed=cfg.seed,
        report_to="none",
        save_strategy="steps" if cfg.checkpoint_every else "no",
        save_steps=cfg.checkpoint_every or None,
        save_total_limit=2,
        use_vllm=False,
        disable_tqdm=True,
        dataloader_num_workers=0,
        bf16=cuda,
        gradient_checkpointing=checkpointed,  # as the supervised phase (TRL's default would recompute anyway)
    )


def questions_per_step(cuda: bool) -> int:
    """Questions a GRPO step draws answers for: one on a CPU (each answer costs seconds), eight on a GPU."""
    return 8 if cuda else 1


def run_reinforcement(
    model,
    tokenizer,
    cfg,
    pairs,
    fmt,
    db,
    state,
    stop_event,
    run,
    folder,
    cuda,
    resume=None,
    checkpointed=True,
):
    """The GRPO phase on the supervised adapter in `model` (trained in place); returns its trainer. Its steps are
    numbered after the supervised ones (state.step); `resume` is a GRPO checkpoint to continue from."""
    from datasets import Dataset
    from trl import GRPOTrainer

    offset = cfg.max_steps
    state.log(
        f"reinforcing with the database (GRPO): {cfg.grpo_steps} steps, {cfg.grpo_generations} answers to each of "
        f"{questions_per_step(cuda)} question{'s' if questions_per_step(cuda) > 1 else ''} a step, each run on "
        f"the database (reward {REWARD_RIGHT:g} for the right result, {REWARD_RUNS:g} for SQL that runs)"
    )
    with plain_torch_logprobs(cuda):
        trainer = GRPOTrainer(
            model=model,
            processing_class=tokenizer,
            reward_funcs=[DatabaseReward(db, cfg.dialect)],
            args=grpo_config(cfg, str(folder / REINFORCE_CHECKPOINTS), cuda, checkpointed),
            train_dataset=Dataset.from_list(prompt_rows(pairs, fmt)),
            callbacks=[make_progress_callback(state, stop_event, run, offset=offset, phase="reinforce")],
        )
        trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    return trainer
