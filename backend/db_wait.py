"""Wait at start for a database server that does not accept connections yet.

In a container stack the database may still be starting (or restarting) when the backend
starts. Connection failures are retried with backoff and logged in a sentence a person can
act on; failures that waiting cannot fix (wrong password, missing database) stop at once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import sqlalchemy as sa

from backend.backoff import Backoff
from backend.database import engine_options

log = logging.getLogger(__name__)

# MySQL/MariaDB client and server errors that go away once the server is up.
TRANSIENT_CODES = frozenset({2002, 2003, 2005, 2006, 2013, 1040, 1053})
HINTS = {
    1044: "the user may not use this database; check its grants",
    1045: "the database refused the user's password; the database keeps the passwords of its "
    "first start, so a password changed in .env afterwards must be changed in the database too",
    1049: "the database does not exist; it is created on the database server's first start",
}


class DatabaseUnavailable(RuntimeError):
    """The database cannot be used: not reachable in time, or refusing the connection."""


def _code(exc: sa.exc.DBAPIError) -> int | None:
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _reason(exc: sa.exc.DBAPIError) -> str:
    args = getattr(exc.orig, "args", ())
    if len(args) == 2 and isinstance(args[1], str):
        return args[1]
    return str(exc.orig).strip() or type(exc.orig).__name__


def _where(url: sa.URL) -> str:
    return f"{url.host or 'localhost'}:{url.port or 3306}/{url.database or ''}"


def wait_for_database(
    database_url: str,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    backoff: Backoff | None = None,
) -> None:
    """Return once `SELECT 1` succeeds; raise DatabaseUnavailable otherwise."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return
    backoff = backoff or Backoff(base=0.5, cap=5.0)
    engine = sa.create_engine(url, **engine_options(database_url))
    deadline = clock() + timeout
    attempt = 0
    try:
        while True:
            try:
                with engine.connect() as connection:
                    connection.execute(sa.text("SELECT 1"))
            except sa.exc.DBAPIError as exc:
                code = _code(exc)
                reason = _reason(exc)
                if code not in TRANSIENT_CODES:
                    hint = HINTS.get(code, "check TROVE_DATABASE_URL")
                    raise DatabaseUnavailable(
                        f"cannot use the database at {_where(url)}: {reason}; {hint}"
                    ) from exc
                if clock() >= deadline:
                    raise DatabaseUnavailable(
                        f"the database at {_where(url)} is still unreachable after "
                        f"{timeout:.0f} s ({reason}); check that it runs and that "
                        "TROVE_DATABASE_URL names it"
                    ) from exc
                delay = max(0.2, backoff.delay(attempt))
                log.warning(
                    "waiting for the database at %s: %s; retrying in %.1f s",
                    _where(url),
                    reason,
                    delay,
                )
                attempt += 1
                sleep(delay)
                continue
            if attempt:
                log.info("the database at %s is reachable", _where(url))
            return
    finally:
        engine.dispose()
