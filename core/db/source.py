"""What a database source is called and how its failures are said: the one SourceError sentence a person gets for any
source that cannot be opened or read, the source string as it may be shown (the password masked), and PostgreSQL
URLs with their password moved to a masked box and back.

Below the engines (core.db.engine_*) and core.db.connect, which all raise and word their failures through it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from core.db.execute import Database
from core.redact import redact


class SourceError(ValueError):
    """A database source that cannot be opened. The message is meant for the user, as is."""


def is_postgres_url(source: str) -> bool:
    return source.startswith(("postgresql://", "postgres://"))


def split_password(url: str) -> tuple[str, str]:
    """(the URL without its password, the password): a PostgreSQL URL typed with its password is shown without it,
    the password kept in a masked box. Anything else comes back as it is, with no password."""
    if not is_postgres_url(url):
        return url, ""
    parts = urlsplit(url)
    if parts.password is None:
        return url, ""
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user.split(':', 1)[0]}@{host}")), unquote(parts.password)


def with_password(url: str, password: str) -> str:
    """The URL to connect to: a PostgreSQL URL without a password gets the masked box's (quoted as URLs need)."""
    if not password or not is_postgres_url(url) or urlsplit(url).password is not None:
        return url
    parts = urlsplit(url)
    user, at, host = parts.netloc.rpartition("@")
    if not at:
        return url  # no user name to put the password beside: libpq reads PGPASSWORD or ~/.pgpass instead
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))


def describe_source(source: str) -> str:
    """The source as it may be shown, logged or stored: passwords masked."""
    return redact(source or "")


def source_name(db: Database) -> str:
    """How a message names a connected database: the file it came from, or the PostgreSQL URL with the password
    masked."""
    return f"PostgreSQL {describe_source(db.source)}" if is_postgres_url(db.source) else db.label


@contextmanager
def reading(db: Database, doing: str) -> Iterator[None]:
    """The studio's own reads of a database (opening it, its catalog): the library's exceptions become one
    SourceError sentence that names the database, says what went wrong and what to do."""
    try:
        yield
    except db.errors as e:
        raise SourceError(f"{source_name(db)}: {db.explain(e, doing)}.") from None
