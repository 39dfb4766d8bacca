"""Files the studio rewrites: written whole, and changed by one writer at a time.

    write_atomic(path, text, mode=0o600)    # a reader sees the old file or the new one, never half of one
    with locked(path):                      # read, change, write: no other thread or process does it meanwhile
        data = json.loads(path.read_text()); data["n"] += 1; write_atomic(path, json.dumps(data))

The queue, a database's own questions, a job's job.json, the speed history and a journal's acknowledgements are
each written by more than one thread or process (the studio's threads, the worker, a `core sweep` in a terminal);
a change made of a read and a write is only safe under the file's lock, and the lock must hold across processes,
so it is a file lock (`filelock`: flock on `<name>.lock`, dropped by the OS when its holder dies).
"""

import os
import uuid
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock

DEFAULT_MODE = 0o666  # what open() creates: the umask then takes away what it always does


def write_atomic(path: Path, data: str | bytes, mode: int = DEFAULT_MODE) -> None:
    """Replace `path` with `data` whole or not at all (a killed writer leaves the old file). The temporary file
    has a name of its own (writers never share one) and is created with `mode` (the umask applies), so a file
    meant for its owner only (0o600: it may hold a database password) is never readable by others, not even for
    the moment before a chmod."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def locked(path: Path):
    """Hold the cross-process lock of `path` (on `<name>.lock` beside it) for a read-modify-write. Re-entrant in
    one thread (a change that saves through a function that locks again does not wait for itself); other threads
    and processes wait."""
    path = Path(path)
    with FileLock(path.with_name(path.name + ".lock"), is_singleton=True):
        yield
