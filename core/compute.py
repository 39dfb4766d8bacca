"""The one process-wide lease on the CPU/GPU for model-heavy work: training, evaluation, the playground.

Training and generation would compete for the same memory, so a process never runs both at once: training
holds the lease alone; evaluations and playground answers may hold it together (they take turns on the model
through `generation_lock`). Work nested in a lease's own thread (the evaluation a training run does when it
ends) is part of that lease. Both sides ask here, so neither imports the other. Across the processes of one
data folder, training's flock (core.train.jobs) plays the same part.

    with lease(GENERATION, "evaluation of run 1"):   # BusyError, with a message for the user, while training
        ...
"""

import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

TRAINING, GENERATION = "training", "generation"

# One model generates at a time in this process: evaluation and the playground share the CPU/GPU.
generation_lock = threading.Lock()


class BusyError(RuntimeError):
    """The CPU/GPU, or a one-at-a-time slot, is taken. The message says by what and what to do."""


@dataclass(eq=False)
class Lease:
    kind: str
    label: str | Callable[[], str]  # a callable gives a live description ("job X, step 3/60")
    thread: int = field(
        default_factory=threading.get_ident
    )  # the thread doing the work (see hand_to_this_thread)
    devices: tuple[int, ...] | None = (
        None  # a training pinned to these GPUs (a queue's side-by-side run); None: all
    )

    def overlaps(self, devices: tuple[int, ...] | None) -> bool:
        return self.devices is None or devices is None or bool(set(self.devices) & set(devices))

    def hand_to_this_thread(self) -> None:
        """The lease was taken by the thread that started the work; the work's own thread now holds it."""
        self.thread = threading.get_ident()

    def describe(self) -> str:
        return self.label() if callable(self.label) else self.label


_lock = threading.Lock()
_leases: list[Lease] = []


def _refusal(wanted: str, held: Lease) -> str:
    if held.kind == GENERATION:
        return (
            "An evaluation or a playground answer is being generated. Start training when it ends "
            "(training and generation would compete for the same memory)."
        )
    if wanted == TRAINING:
        return f"A training run is already in progress ({held.describe()}). Wait for it or stop it first."
    return training_refusal(held.describe())


def training_refusal(holder: str) -> str:
    """Why generation must wait for a training run (here or in another process)."""
    return (
        f"A training run is in progress ({holder}). Evaluation and the playground load a second model, which "
        "would take memory and time from it: try again when it ends, or stop it first."
    )


def acquire(kind: str, label: str | Callable[[], str], devices: tuple[int, ...] | None = None) -> Lease:
    """Take the lease or raise BusyError. Generation shares with generation; training shares with nothing,
    except the generation its own thread does (the evaluation when a run ends) and trainings pinned to other GPUs
    (`devices`: a queue's runs side by side, one per GPU)."""
    me = threading.get_ident()
    with _lock:
        for held in _leases:
            side_by_side = kind == TRAINING and held.kind == TRAINING and not held.overlaps(devices)
            if side_by_side:
                continue
            if kind == TRAINING or (held.kind == TRAINING and held.thread != me):
                raise BusyError(_refusal(kind, held))
        taken = Lease(kind, label, devices=devices)
        _leases.append(taken)
        return taken


def release(taken: Lease) -> None:
    with _lock:
        if taken in _leases:
            _leases.remove(taken)


@contextmanager
def lease(kind: str, label: str | Callable[[], str]):
    taken = acquire(kind, label)
    try:
        yield taken
    finally:
        release(taken)


def holder(kind: str) -> str:
    """ "" when no lease of this kind is held in this process, else what holds it."""
    with _lock:
        found = next((held for held in _leases if held.kind == kind), None)
    return found.describe() if found else ""
