"""This process's database session: one open connection per source string, and what each source's pre-flight has
already run, kept between validations. The Data tab, the CLI and the dataset builder (core.train.dataset) all go
through it, so connecting again or checking the pairs again costs only what changed.

    db = database("shop.sqlite")            # opened on first use, then kept
    db = database("shop.sqlite", fresh=True)  # opened again (the file or the CSVs changed)
    cache = preflight_cache("shop.sqlite")   # (dialect, SQL) -> outcome, for core.db.preflight
"""

import threading

from core.db.connect import connect
from core.db.execute import Database

MAX_OPEN = 8  # a long-lived studio forgets its oldest connection beyond this many


class Session:
    def __init__(self, max_open: int = MAX_OPEN):
        self.max_open = max_open
        self._open: dict[str, Database] = {}
        self._preflight: dict[str, dict] = {}
        self._lock = threading.Lock()

    def database(self, source: str, fresh: bool = False, ddl_dialect: str = "postgres") -> Database:
        """The open connection for a source (opened on first use; `fresh` opens it again). `ddl_dialect`: the
        dialect of a SQL script's DDL, when the source is one."""
        with self._lock:
            if fresh:
                self._open.pop(source, None)
                self._preflight.pop(source, None)
            if source not in self._open:
                if len(self._open) >= self.max_open:
                    oldest = next(iter(self._open))
                    self._open.pop(oldest)
                    self._preflight.pop(oldest, None)
                self._open[source] = connect(source, ddl_dialect=ddl_dialect)
            return self._open[source]

    def preflight_cache(self, source: str) -> dict:
        """Outcomes of pairs already run on this source, by (dialect, SQL): checking again runs only new SQL."""
        with self._lock:
            return self._preflight.setdefault(source, {})


SESSION = Session()


def database(source: str, fresh: bool = False, ddl_dialect: str = "postgres") -> Database:
    return SESSION.database(source, fresh, ddl_dialect)


def preflight_cache(source: str) -> dict:
    return SESSION.preflight_cache(source)
