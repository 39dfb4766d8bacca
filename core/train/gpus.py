"""The GPUs this machine offers, asked of the driver (nvidia-smi), not of torch: the studio's own process never
imports torch or opens a CUDA context, so its GPU memory stays the workers' (and reading it takes milliseconds).

CUDA_VISIBLE_DEVICES is respected: only the devices it names count, in its order.
"""

import functools
import os
import shutil
import subprocess
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Gpu:
    index: int  # the driver's index (what CUDA_VISIBLE_DEVICES names)
    name: str
    total_mib: int
    used_mib: int

    @property
    def free_mib(self) -> int:
        return self.total_mib - self.used_mib


def _query() -> list[Gpu]:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run(
            [smi, "--query-gpu=index,uuid,name,memory.total,memory.used", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    gpus, uuids = [], {}
    for line in out.stdout.strip().splitlines() if out.returncode == 0 else []:
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 5 and parts[0].isdigit():
            gpu = Gpu(int(parts[0]), parts[2], int(float(parts[3])), int(float(parts[4])))
            gpus.append(gpu)
            uuids[parts[1]] = gpu
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return gpus
    by_index = {str(g.index): g for g in gpus}
    chosen = []
    for name in (v.strip() for v in visible.split(",")):
        gpu = by_index.get(name) or next((g for u, g in uuids.items() if name and u.startswith(name)), None)
        if gpu is None:
            break  # CUDA stops at the first device it cannot find
        chosen.append(gpu)
    return chosen


@functools.lru_cache(maxsize=4)
def _cached(minute: int, visible: str | None) -> tuple[Gpu, ...]:
    return tuple(_query())


def visible_gpus(fresh: bool = False) -> list[Gpu]:
    """The GPUs training may use. Cached for a minute (memory figures too) unless `fresh`."""
    if fresh:
        _cached.cache_clear()
    return list(_cached(int(time.time() // 60), os.environ.get("CUDA_VISIBLE_DEVICES")))


def gpu_count() -> int:
    return len(visible_gpus())
