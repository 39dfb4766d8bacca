"""How a training worker uses the CPU: threads that wait passively, and no more of them than there are idle cores.

OpenMP's threads spin while they wait for work. Next to another CPU-heavy process on a small machine, the spinning
threads and the other process take turns on the same cores and a step of the bundled model took 25-30 s instead of
2.3 s (with one thread, 2.0 s). Passive waiting (OMP_WAIT_POLICY, set before torch loads OpenMP) stops the spinning;
the thread count follows the cores that are idle when the job starts. bench/cpu_contention.py measures both.
"""

import os

import psutil

WAIT_POLICY = {"OMP_WAIT_POLICY": "PASSIVE"}  # in the worker's environment, before torch is imported


def policy_on() -> bool:
    """STUDIO_CPU_POLICY=off leaves torch's defaults (for bench/cpu_contention.py's comparison)."""
    return os.environ.get("STUDIO_CPU_POLICY", "on") != "off"


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def choose_threads(sample_s: float = 0.5) -> tuple[int, str]:
    """(threads, why): the cores this process may use, less those other processes keep busy right now."""

    cores = usable_cores()
    busy = psutil.cpu_percent(interval=sample_s) / 100 * psutil.cpu_count()
    idle = max(1, min(cores, round(cores - busy)))
    why = f"{idle} of {cores} cores are idle" if idle < cores else f"all {cores} cores are idle"
    return idle, f"torch uses {idle} thread{'s' if idle != 1 else ''} ({why}; OpenMP threads wait passively)"


def apply_threads() -> str:
    """Set torch's thread count for this CPU job; the sentence for the log."""
    import torch

    if not policy_on():
        return f"torch uses {torch.get_num_threads()} threads (its default; the CPU policy is off)"
    threads, why = choose_threads()
    torch.set_num_threads(threads)
    return why
