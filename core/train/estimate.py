"""How long a run will take on this machine and, on a GPU, how much memory it will need: estimated before Start,
compared with what happened after each run, and learned from (the data folder's speed.json).

    guess = estimate_run(cfg, plan, rows=380)      # seconds, peak GiB, and what the guess rests on
    record_run(folder)                             # after a run: what it cost, next to what was estimated

Time = start-up (loading) + steps x tokens per step / tokens per second (+ the evaluation, when asked for). The
speed and the start-up come from the last runs of the same model and backend here; before the first, from the
benchmarks' figures (docs/BENCHMARKS.md), marked as rough. Memory = weights (4-bit: half a byte a parameter, the
embeddings in 16-bit) + activations (2 bytes x hidden size x layers per token of a micro-batch) + 1 GiB for CUDA's
own, corrected by the ratio measured on earlier runs of the model.
"""

import json
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from core.defaults import default_candidates
from core.files import locked, write_atomic
from core.paths import data_dir
from core.tracking.journal import Journal
from core.train.model_size import memory_gib, model_dims, split_parameters
from core.train.precision import checkpointing, cpu_has_bf16_units, four_bit_for, held_as
from core.train.reinforce import questions_per_step

HISTORY_FILE = "speed.json"
KEEP = 20  # runs remembered per model and backend
# Before any run here: tokens/s of the bundled model on 2 CPU cores, with bfloat16 units and without (docs/BENCHMARKS.md,
# "Issue 37": 250-310 and 175-185); on a GPU a token costs the model's training FLOPs at 40% of an H100/H200's bf16 peak
# plus GPU_TOKEN_OVERHEAD_S of what does not shrink with the model (kernel launches, the LM head's softmax, the LoRA
# factors). Fitted to what was measured on H100/H200 (docs/BENCHMARKS.md): the bundled 135M about 40k tokens/s, the
# 1.5B shape 27k, the 7B shape in 4-bit 10k; this gives 45k, 23k and 8k.
CPU_TOKENS_PER_S, GPU_FLOPS, GPU_TOKEN_OVERHEAD_S = {"bf16": 250.0, "fp32": 175.0}, 0.4 * 989e12, 20e-6
PRIOR_START_S = {"cpu": 90.0, "cuda": 60.0}
# With voting, each sampled candidate costs this share of a greedy answer (they are generated in one batch).
SAMPLED_COST = 0.5
# The reinforcement phase (GRPO): seconds per answer drawn, generated and run, before a run here measured it (on 2 CPU
# cores a step of 4 answers of the bundled model took 8-15 s; a GPU generates a step's 32 answers in one batch).
PRIOR_ANSWER_S = {"cpu": 3.0, "cuda": 0.1}
PRIOR_EVAL_S_PER_ROW = {
    "cpu": 1.5,
    "cuda": 0.3,
}  # per row and per model (base, adapter), greedy, short answers
# The suggested steps: the config's epochs of the training pairs, on a CPU no more than CPU_BUDGET_S of training.
CPU_BUDGET_S = 10 * 60
MIN_STEPS, MAX_STEPS = 20, 3000


@dataclass
class Estimate:
    seconds: float
    start_s: float
    tokens_per_s: float
    peak_gib: float | None  # None without a GPU, or when the model's size is unknown
    runs: int  # earlier runs the guess rests on (0: the benchmarks' figures)
    reinforce_s: float = 0.0  # of `seconds`: the reinforcement phase (GRPO)

    def describe(self, free_gib: float | None = None) -> str:
        basis = (
            f"from {self.runs} earlier run{'s' if self.runs > 1 else ''} of this model here"
            if self.runs
            else "rough: no run of this model on this machine yet"
        )
        text = f"Estimated time on this machine: about {_minutes(self.seconds)} ({basis})."
        if self.reinforce_s:
            text += (
                f" Of it, the reinforcement with the database (GRPO) about {_minutes(self.reinforce_s)}: every "
                "answer it draws is generated and run."
            )
        if self.peak_gib is not None:
            text += f" Peak GPU memory about {self.peak_gib:.1f} GiB"
            text += f" of {free_gib:.0f} GiB free." if free_gib is not None else "."
        return text

    def fits(self, free_gib: float | None) -> bool:
        return self.peak_gib is None or free_gib is None or self.peak_gib <= free_gib * 0.95


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def run_key(model: str, cuda: bool, held: str) -> str:
    """The speed history's key: the model, the device, and how the model is held (core.train.precision.held_as)."""
    return f"{model}|{'cuda' if cuda else 'cpu'}|{held}"


def _history() -> dict:
    try:
        return json.loads((data_dir() / HISTORY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def estimate_run(cfg, plan, rows: int, cuda: bool, eval_rows: int = 0) -> Estimate:
    """The time (and on a GPU the peak memory) of a run of `cfg` with this batch plan on `rows` training rows."""
    dims = model_dims(cfg.model)
    four_bit = four_bit_for(cfg, cuda, dims)
    kept = checkpointing(cfg, cuda, dims, plan.micro_batch_tokens, four_bit)
    past = _history().get(run_key(cfg.model, cuda, held_as(cuda, four_bit, kept)), [])[-3:]
    backend = "cuda" if cuda else "cpu"
    if past:
        tokens_per_s = statistics.median(r["tokens_per_s"] for r in past)
        start_s = statistics.median(r["start_s"] for r in past)
        eval_per_row = statistics.median(r.get("eval_s_per_row", PRIOR_EVAL_S_PER_ROW[backend]) for r in past)
    else:
        linear = split_parameters(dims)[0] if dims else 1.5e9
        tokens_per_s = (
            1 / (6 * linear / GPU_FLOPS + GPU_TOKEN_OVERHEAD_S) if cuda else CPU_TOKENS_PER_S[cpu_precision()]
        )
        start_s, eval_per_row = PRIOR_START_S[backend], PRIOR_EVAL_S_PER_ROW[backend]
    seconds = start_s + cfg.max_steps * plan.tokens_per_step / max(tokens_per_s, 1e-6)
    if cfg.evaluate_after and eval_rows:
        seconds += 2 * eval_rows * eval_per_row * candidate_cost(cfg.candidates or default_candidates(cuda))
    reinforce_s = reinforcement_seconds(cfg, cuda, past)
    seconds += reinforce_s
    peak = None
    if cuda and dims:
        peak = memory_gib(dims, four_bit, plan.micro_batch_tokens, kept)
        ratios = [
            r["peak_gib"] / r["peak_estimate_gib"]
            for r in past
            if r.get("peak_gib") and r.get("peak_estimate_gib")
        ]
        peak *= statistics.median(ratios) if ratios else 1.0
    return Estimate(seconds, start_s, tokens_per_s, peak, len(past), reinforce_s)


def cpu_precision() -> str:
    return "bf16" if cpu_has_bf16_units() else "fp32"


def candidate_cost(candidates: int) -> float:
    """An evaluation's time with `candidates` per answer, in greedy evaluations: the sampled ones are generated
    together, a batch per question (SAMPLED_COST each, measured in docs/BENCHMARKS.md)."""
    return 1.0 + SAMPLED_COST * max(candidates - 1, 0)


def reinforcement_seconds(cfg, cuda: bool, past: list) -> float:
    """The GRPO phase: its steps x the answers each draws x the seconds an answer took here (else the prior)."""
    if not cfg.grpo_steps:
        return 0.0
    measured = [r["answer_s"] for r in past if r.get("answer_s")]
    per_answer = statistics.median(measured) if measured else PRIOR_ANSWER_S["cuda" if cuda else "cpu"]
    return cfg.grpo_steps * cfg.grpo_generations * questions_per_step(cuda) * per_answer


def suggested_steps(cfg, plan, rows: int, cuda: bool) -> tuple[int, str]:
    """(steps, why): the config's epochs of `rows` pairs, capped on a CPU by CPU_BUDGET_S of training at this
    machine's speed for the model (its last runs here, else the prior)."""
    steps = plan.steps_for_epochs(cfg.epochs, rows)
    why = f"{cfg.epochs:g} epochs of {rows} pairs"
    if not cuda:
        speed = estimate_run(cfg, plan, rows, cuda).tokens_per_s
        budget = int(CPU_BUDGET_S * speed / max(plan.tokens_per_step, 1.0))
        if budget < steps:
            steps, why = (
                budget,
                f"{plan.epochs(budget, rows):.1f} epochs: capped at about {CPU_BUDGET_S // 60} min "
                f"of training on this CPU",
            )
    steps = min(max(steps, MIN_STEPS), MAX_STEPS)
    return steps, why


def record_run(folder: Path) -> dict | None:
    """After a run: its measured speed, start-up and peak memory, kept for the next estimates; returns
    {"estimated": ..., "actual": ...} seconds (and GiB) for the log, or None when the run trained no steps."""

    folder = Path(folder)
    try:
        job = json.loads((folder / "job.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    first_of_step: dict[int, tuple] = {}
    for op in Journal(folder).ops:  # one point a step (the trainer logs its summary at the last step again)
        if op["op"] == "metric" and op["key"] == "num_input_tokens_seen":
            first_of_step.setdefault(op["step"], (op["t"] / 1000, op["step"], op["value"]))
    seen = sorted(first_of_step.values(), key=lambda m: m[1])
    guess = job.get("estimate") or {}
    if len(seen) < 3 or not guess or seen[-1][2] <= seen[1][2] or seen[-1][0] <= seen[1][0]:
        return None
    (t0, _, n0), (t1, _, n1) = (
        seen[1],
        seen[-1],
    )  # from the 2nd step: the first carries compilation and warm-up
    started, finished = float(job.get("started", seen[0][0])), float(job.get("finished") or time.time())
    peak = None
    try:
        peak = json.loads((folder / "rank-0.json").read_text(encoding="utf-8")).get("peak_gpu_gib") or None
    except (OSError, ValueError):
        pass
    evaluated = job.get("evaluation_seconds")
    tokens_per_s = (n1 - n0) / max(t1 - t0, 1e-6)
    start_s = seen[0][0] - started - seen[0][2] / tokens_per_s  # loading, without the first step itself
    entry = {
        "when": time.time(),
        "tokens_per_s": tokens_per_s,
        "start_s": max(start_s, 0.0),
        "seconds": finished - started,
        "estimate_s": guess.get("seconds"),
        "peak_gib": peak,
        "peak_estimate_gib": guess.get("peak_gib"),
    }
    key = guess.get("key", "")
    cuda = "|cuda|" in key
    config = job.get("config") or {}
    if evaluated and job.get(
        "eval_rows"
    ):  # a greedy answer's share: the next estimate multiplies by its own votes
        voted = config.get("candidates") or default_candidates(cuda)
        entry["eval_s_per_row"] = evaluated / (2 * job["eval_rows"] * candidate_cost(voted))
    step_times = [
        op["value"] for op in Journal(folder).ops if op["op"] == "metric" and op["key"] == "grpo_step_time"
    ]
    if step_times:  # the reinforcement phase: seconds per answer it drew
        answers = config.get("grpo_generations", 4) * questions_per_step(cuda)
        entry["answer_s"] = statistics.median(step_times) / max(answers, 1)
    try:
        # runs side by side (and other processes) end at the same time: one read-modify-write at a time
        with locked(data_dir() / HISTORY_FILE):
            history = _history()
            history[key] = (history.get(key, []) + [entry])[-KEEP:]
            write_atomic(data_dir() / HISTORY_FILE, json.dumps(history, indent=1))
    except OSError:
        pass
    if job.get("status") != "completed":  # a stopped run says how fast, not how long a whole run takes
        return None
    return {
        "estimated_s": guess.get("seconds"),
        "actual_s": entry["seconds"],
        "estimated_peak_gib": guess.get("peak_gib"),
        "actual_peak_gib": peak,
    }


def as_job_fields(guess: Estimate, key: str) -> dict:
    return {"estimate": {**asdict(guess), "key": key}}
