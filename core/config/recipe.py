"""The recipe groups of a run's settings: the adapter (lora: rank, alpha, dropout, which layers), the schedule (steps,
learning rate, batches, packing, checkpoints) and the reinforcement phase after the supervised steps (reinforce:
GRPO, rewarded by the database). They follow the inputs (core.config.inputs) in TrainConfig's fields.
"""

from dataclasses import dataclass

from core.config.inputs import RunInputs
from core.settings import setting

ALL_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class Recipe(RunInputs):
    """How a run trains, after what it trains on (RunInputs). Never made on its own: TrainConfig's middle fields."""

    # ---- lora: the adapter ----
    rank: int = setting(
        16,
        "LoRA rank: how much the adapter can learn. 8-64 is typical; 16 is a good start.",
        "lora",
        "LoRA rank",
        min=1,
        max=512,
        widget="slider",
        step=4,
        ui_max=128,
    )
    alpha: int = setting(
        32,
        "LoRA alpha: scales the adapter's effect. Usually 1-2x the rank.",
        "lora",
        "LoRA alpha",
        min=1,
        max=1024,
        widget="slider",
        step=4,
        ui_max=256,
    )
    dropout: float = setting(
        0.0,
        "LoRA dropout: 0 is fastest with Unsloth; 0.05-0.1 can help on tiny datasets.",
        "lora",
        "LoRA dropout",
        min=0.0,
        max=0.5,
        advanced=True,
    )
    target_modules: list = setting(
        list(ALL_PROJECTIONS),
        "Which layers get an adapter. All 7 projections is the recommended default.",
        "lora",
        "Target modules",
        choices=ALL_PROJECTIONS,
        advanced=True,
    )
    # ---- schedule: how long and how fast ----
    max_steps: int = setting(
        0,
        "Optimizer steps. 0 = the suggested number: the epochs below of your pairs, capped on a CPU "
        "at about 10 minutes of training (the plan line says how many).",
        "schedule",
        "Steps (0 = suggested)",
        min=0,
        max=100000,
        plan=True,
    )
    epochs: float = setting(
        2.5,
        "With steps at 0: how many times the suggested steps show the model each training pair (on a CPU, no "
        "more than about 10 minutes of training buy).",
        "schedule",
        "Epochs (when steps are 0)",
        min=0.1,
        max=1000.0,
        advanced=True,
        plan=True,
    )
    learning_rate: float = setting(
        2e-4,
        "Step size. The recipe's 2e-4 suits a 7B model; small models learn faster at 1e-3 (the default for "
        "them). Lower it if the loss jumps around.",
        "schedule",
        "Learning rate",
        min=1e-7,
        max=1e-2,
        advanced=True,
    )
    batch_size: int = setting(
        2,
        "Pairs per micro-batch. Higher is faster on a GPU if memory allows.",
        "schedule",
        "Batch size",
        min=1,
        max=1024,
        advanced=True,
        plan=True,
    )
    grad_accum: int = setting(
        4,
        "Micro-batches per optimizer step. Pairs per step = batch size x this.",
        "schedule",
        "Gradient accumulation",
        min=1,
        max=1024,
        advanced=True,
        plan=True,
    )
    warmup_steps: int = setting(
        5,
        "Steps at the start with a ramping learning rate. 5-10% of the steps (capped below the "
        "number of steps).",
        "schedule",
        "Warm-up steps",
        min=0,
        max=100000,
        advanced=True,
    )
    max_seq_length: int = setting(
        2048,
        "Longest prompt+answer in tokens; longer rows are cut. 512-4096 typical.",
        "schedule",
        "Max sequence length",
        min=32,
        max=131072,
        advanced=True,
        plan=True,
    )
    packing: bool | None = setting(
        None,
        "Pack several short pairs into one sequence: much faster on a GPU, no "
        "effect on what is learned. Default: on with a GPU, off on CPU.",
        "schedule",
        "Packing",
        advanced=True,
        plan=True,
    )
    batch_tokens: int = setting(
        0,
        "With packing on a GPU: tokens per micro-batch (pairs packed end to end); replaces "
        "the batch size there. 0 = auto: 4,096-16,384 chosen from the data so an epoch has about "
        "20 steps. Lower it if the GPU runs out of memory.",
        "schedule",
        "Tokens per micro-batch (GPU, packing)",
        min=0,
        max=1048576,
        advanced=True,
        plan=True,
    )
    answer_only_loss: bool = setting(
        True,
        "Train on the SQL answer only, not on the prompt (recommended).",
        "schedule",
        "Loss on the SQL answer only",
        advanced=True,
    )
    seed: int = setting(
        3407,
        "Random seed, for repeatable runs (also the seed of the held-out split).",
        "schedule",
        "Seed",
        min=0,
        max=2**31 - 1,
        advanced=True,
    )
    checkpoint_every: int = setting(
        50,
        "Save a checkpoint every N steps (the last 2 are kept), so a run killed by a crash "
        "or a restart can resume from there. 0 = no checkpoints.",
        "schedule",
        "Checkpoint every N steps",
        min=0,
        max=100000,
        advanced=True,
    )
    keep_checkpoints: bool = setting(
        False,
        "Keep every checkpoint when the run completes, to score them and make the best step the adapter "
        "(Runs tab: 'Score its checkpoints'). Off: the last 2, deleted once the adapter is saved.",
        "schedule",
        "Keep every checkpoint (to score them)",
        advanced=True,
    )
    score_checkpoints: bool = setting(
        False,
        "When the run has been evaluated, score every checkpoint on the same held-out rows and make the most "
        "accurate step the adapter (keeps every checkpoint; a sweep's option). The step is chosen on the rows it "
        "is scored on: the leaderboard names it.",
        "schedule",
        "Make the best checkpoint the adapter",
        advanced=True,
    )
    logging_steps: int = setting(1, "Log loss every N steps.", "schedule", min=1, max=100000)
    # ---- reinforce: GRPO after the supervised steps, rewarded by the database ----
    grpo_steps: int = setting(
        0,
        "After the supervised steps, reinforce with the database (GRPO): each step the adapter answers a "
        "training question several times, every answer runs on the database, and answers that return the "
        "right rows are made more likely (reward 1 for the right result, 0.1 for SQL that runs, 0 otherwise). "
        "0 = no reinforcement. Slow on a CPU (each answer is generated, about a minute a step).",
        "reinforce",
        "Then reinforce with the database (GRPO): steps",
        min=0,
        max=100000,
        advanced=True,
        plan=True,
    )
    grpo_generations: int = setting(
        4,
        "GRPO: answers drawn per question in a step; the rewards are compared within them.",
        "reinforce",
        "GRPO: answers per question",
        min=2,
        max=64,
        advanced=True,
        plan=True,
    )
    grpo_learning_rate: float = setting(
        1e-5,
        "GRPO: the step size of the reinforcement phase (much smaller than the supervised one: it only "
        "reweighs what the adapter already writes).",
        "reinforce",
        "GRPO: learning rate",
        min=1e-8,
        max=1e-2,
        advanced=True,
    )
