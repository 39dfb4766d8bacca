"""The Train tab's plan line: how many rows train and are held out, what one step sees, how many epochs the steps
make, a suggested number of steps, and a guess of the run's time and memory (with a warning when it would not fit
the GPU). app.ui recomputes it whenever the data or one of the form's PLAN_FIELDS changes.
"""

from dataclasses import replace

from app.common import Dataset, box
from app.train_form import PLAN_FIELDS
from core.config import TrainConfig
from core.data.english import counted
from core.train import (
    MODEL_CHOICES,
    estimate_run,
    gpu_count,
    plan_batches,
    planned_split,
    suggested_steps,
    visible_gpus,
)


def plan_for(ds: Dataset, exclude_errors: bool, *values) -> tuple[str, int]:
    """plan_html from the form's PLAN_FIELDS values, in their order (the event's inputs)."""
    return plan_html(ds, exclude_errors, **dict(zip(PLAN_FIELDS, values, strict=True)))


def plan_html(
    ds: Dataset,
    exclude_errors: bool,
    max_steps=0,
    batch_size=2,
    grad_accum=4,
    packing="auto",
    batch_tokens=0,
    max_seq_length=2048,
    gpus=1,
    model=MODEL_CHOICES[0],
    evaluate_after=False,
    load_in_4bit="auto",
    eval_fraction=0.1,
    gradient_checkpointing="auto",
    epochs=2.5,
    candidates=0,
    grpo_steps=0,
    grpo_generations=4,
) -> tuple[str, int]:
    """What one step sees and how many epochs the steps make, plus a suggested number of steps."""
    steps, batch, accum = max_steps, batch_size, grad_accum
    if not ds or not ds.loaded:
        return box("Load data first (step 1): the plan is computed from it.", "info"), 0
    cfg = TrainConfig(
        batch_size=max(int(batch or 1), 1),
        grad_accum=max(int(accum or 1), 1),
        packing=TrainConfig.coerce("packing", packing),
        batch_tokens=max(int(batch_tokens or 0), 0),
        max_seq_length=int(max_seq_length or 2048),
        epochs=float(epochs or 2.5),
    )
    found = gpu_count()
    devices = min(found if int(gpus or 0) == 0 else int(gpus), found) if found else 1
    train, held, plan = _split_and_plan(
        ds, exclude_errors, float(eval_fraction or 0), cfg, found > 0, devices
    )
    training, held_out = max(len(train), 1), len(held)
    # rows that share a held-out row's SQL or question: trained on, they would give its answer away
    aside = len(planned_split(ds.pairs, ds.report, bool(exclude_errors), 0)[0]) - len(train) - held_out
    cfg = replace(
        cfg,
        model=model or MODEL_CHOICES[0],
        evaluate_after=bool(evaluate_after),
        load_in_4bit=TrainConfig.coerce("load_in_4bit", load_in_4bit),
        gradient_checkpointing=TrainConfig.coerce("gradient_checkpointing", gradient_checkpointing),
        candidates=int(candidates or 0),
        grpo_steps=int(grpo_steps or 0),
        grpo_generations=max(int(grpo_generations or 4), 2),
    )
    suggested, why = suggested_steps(cfg, plan, training, found > 0)
    steps = int(steps or 0)
    chosen = f"{steps} steps make" if steps else f"the suggested {suggested} steps ({why}) make"
    steps_seen = ("On this GPU, " if plan.packing else "") + plan.describe()
    steps_seen = steps_seen[0].upper() + steps_seen[1:]  # "One step sees 4 pairs": a sentence of its own
    generated_only = bool(held) and all(p.generated for p in held)
    what = (
        "generated questions are held out, whole template-and-wording families the adapter never sees, to check it "
        "on new wordings (your own questions, kept in the Evaluate tab's playground, score it on what you ask)"
        if generated_only
        else "are held out to score the adapter"
    )
    text = (
        f"{counted(training, 'row')} will train, {held_out} {what}"
        + (
            f"; {aside} more share a held-out row's SQL or question and stay out of training, so the score is on "
            "questions the adapter never saw"
            if aside > 0
            else ""
        )
        + f". {steps_seen}, so "
        f"{chosen} {plan.epochs(steps or suggested, training):.2f} epochs."
        + ("" if not steps else f" Suggested: {suggested} steps ({why}); 0 uses the suggestion.")
    )
    cfg = replace(cfg, max_steps=steps or suggested)
    guess = estimate_run(cfg, plan, training, found > 0, held_out)
    gpu = next(iter(visible_gpus()), None) if found else None
    free = gpu.free_mib / 1024 if gpu else None
    out = box(text, "info") + box(guess.describe(free), "info" if guess.fits(free) else "warn")
    if not guess.fits(free):
        out += box(
            f"This would not fit in the {free:.0f} GiB free on {gpu.name}: lower the tokens per micro-batch or the "
            "max sequence length, turn on 4-bit loading, or pick a smaller model.",
            "error",
        )
    return out, suggested


def estimate_seconds(ds: Dataset, exclude_errors: bool, cfg: TrainConfig) -> float | None:
    """About how long a run of this config takes on this machine (the plan line's guess), None without data."""
    if not ds or not ds.loaded:
        return None
    found = gpu_count()
    train, held, plan = _split_and_plan(ds, exclude_errors, cfg.eval_fraction, cfg, found > 0, 1)
    steps = cfg.max_steps or suggested_steps(cfg, plan, max(len(train), 1), found > 0)[0]
    return estimate_run(replace(cfg, max_steps=steps), plan, max(len(train), 1), found > 0, len(held)).seconds


def _split_and_plan(
    ds: Dataset, exclude_errors: bool, fraction: float, cfg: TrainConfig, cuda: bool, devices: int
):
    """(train, held out, batch plan) as the trainer makes them: the plan from the training rows' lengths alone (all
    rows' lengths suggested other steps than the run then took)."""
    train, held = planned_split(ds.pairs, ds.report, bool(exclude_errors), fraction)
    length_of = dict(
        zip((p.row for p in ds.pairs), ds.report.token_lengths if ds.report else [], strict=False)
    )
    return (
        train,
        held,
        plan_batches(cfg, [length_of[p.row] for p in train if p.row in length_of], cuda, devices),
    )
