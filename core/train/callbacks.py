"""What the training loop reports, and how its failures are told to the user.

`make_progress_callback` mirrors progress into the RunState, sends every logged number to the job's MLflow run
(through its journal: never blocking) and honours the stop request. `friendly_error` turns an exception into one
actionable line (GPU out of memory, disk full, ...), with secrets masked.
"""

import errno
import re
import time

from core.config import TrainConfig
from core.redact import redact
from core.runstate import RunState

DISK_ERRNOS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "a file grew over the size the system allows",
    errno.EROFS: "the disk is read-only",
    errno.EACCES: "permission was denied",
    errno.EPERM: "permission was denied",
}


def friendly_error(exc: BaseException, cfg: TrainConfig) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    if "out of memory" in text.lower():
        return (
            f"The GPU ran out of memory. Lower the tokens per micro-batch (now {cfg.batch_tokens or 'auto'}) "
            f"or the batch size (now {cfg.batch_size}), or the max sequence length (now {cfg.max_seq_length}), "
            "turn on 4-bit loading, or pick a smaller model."
        )
    if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:
        where = f" writing {exc.filename}" if exc.filename else ""
        return (
            f"Could not save the run's files{where}: {DISK_ERRNOS[exc.errno]}. Nothing half-written is kept as "
            "the adapter. Free some space (or point STUDIO_DATA_DIR to another disk) and start again."
        )
    return redact(text.splitlines()[0][:400] if text else type(exc).__name__)


def _agreed(stop: bool) -> bool:
    """Under DDP every rank must stop after the same step (or the others wait forever in the next all-reduce): a
    stop seen by any rank is shared with all of them."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return stop
    import torch

    device = (
        torch.device("cuda", torch.cuda.current_device())
        if dist.get_backend() == "nccl"
        else torch.device("cpu")
    )
    flag = torch.tensor([1 if stop else 0], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


# The reinforcement phase's own numbers keep their names where nothing else uses them (the reward and its spread,
# which the chart shows); the rest get this prefix, so its policy loss never continues the supervised loss curve.
GRPO_PREFIX, GRPO_KEPT = "grpo_", ("reward", "reward_std")


def grpo_metric(key: str) -> str:
    return key if key in GRPO_KEPT else GRPO_PREFIX + key


def make_progress_callback(state: RunState, stop_event, run, offset: int = 0, phase: str = "", more: int = 0):
    """A TrainerCallback that mirrors progress into `state`, logs metrics to `run`, and honours the stop request.
    `phase` "reinforce": the GRPO phase after `offset` supervised steps; its steps continue the run's numbering and
    its metrics are named by `grpo_metric`. `more`: steps of a later phase, counted in the run's total."""
    from transformers import TrainerCallback

    name = grpo_metric if phase == "reinforce" else (lambda key: key)

    class ProgressCallback(TrainerCallback):
        def __init__(self):
            self.last_time, self.last_tokens = None, 0

        def on_train_begin(self, args, st, control, **kw):
            self.last_time, self.last_tokens = time.time(), int(getattr(st, "num_input_tokens_seen", 0) or 0)
            if phase == "reinforce":  # its steps run at their own pace: the ETA follows them from the first
                state.update(paced_from=0.0, paced_from_step=0, later_steps=0, later_s=0.0)
            state.update(
                status="running", total_steps=st.max_steps + offset + more, step=st.global_step + offset
            )
            what = "reinforcement (GRPO)" if phase == "reinforce" else "training"
            state.log(
                f"{what} started: {st.max_steps} steps"
                + (f", continuing after step {st.global_step}" if st.global_step else "")
            )

        def on_step_begin(self, args, st, control, **kw):
            state.pace_from(
                st.global_step + offset
            )  # the first step: the model, the checkpoint and its batches are loaded

        def on_step_end(self, args, st, control, **kw):
            state.pace_from(
                st.global_step + offset
            )  # (a training loop that calls no on_step_begin: from the 2nd step)
            state.update(step=st.global_step + offset, epoch=st.epoch or 0.0)
            if _agreed(stop_event.is_set()):
                control.should_training_stop = True
                state.update(status="stopping")

        def on_save(self, args, st, control, **kw):
            state.log(f"checkpoint saved at step {st.global_step + offset}")

        def on_log(self, args, st, control, logs=None, **kw):
            logs = {name(k): v for k, v in (logs or {}).items()}
            step = st.global_step + offset
            now, tokens = time.time(), int(getattr(st, "num_input_tokens_seen", 0) or 0)
            changes = {"step": step, "tokens_seen": tokens}
            for key, value in logs.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    run.log_metric(re.sub(r"[^0-9A-Za-z_\-. :/]", "_", key), value, step)
            if tokens and self.last_time and now > self.last_time and tokens > self.last_tokens:
                tps = (tokens - self.last_tokens) / (now - self.last_time)
                changes["tokens_per_second"] = tps
                run.log_metric(name("tokens_per_second"), tps, step)
            self.last_time, self.last_tokens = now, tokens
            if "loss" in logs:
                changes["last_loss"] = float(logs["loss"])
                state.logged_at[step] = now
            if "reward" in logs:
                changes["last_reward"] = float(logs["reward"])
                state.logged_at[step] = now
            state.update(**changes)
            shown = {
                k: (round(v, 4) if isinstance(v, float) else v)
                for k, v in logs.items()
                if k in ("loss", "eval_loss", "learning_rate", "grad_norm", "epoch", "reward", "reward_std")
            }
            if shown:
                state.log(
                    f"step {step}/{st.max_steps + offset} " + " ".join(f"{k}={v}" for k, v in shown.items())
                )

    return ProgressCallback()
