"""Work on a second database connection while this session's statements run: two statements of
one request on the two cores a district's server has (gis.indicators, gis.patrols.coverage)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.orm import Session

T = TypeVar("T")


def _on_own_connection(engine, work: Callable[[Session], T]) -> T:
    with Session(engine) as other:
        return work(other)


def has_written(session: Session) -> bool:
    """Whether this session's transaction has written rows, which another connection cannot see."""
    return bool(session.scalar(text("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")))


@contextmanager
def beside(session: Session, work: Callable[[Session], T]) -> Iterator[Callable[[], T]]:
    """Start ``work(a session)`` on a second connection, to run while this session's statements
    do; yields the callable that waits for its result. Each statement reads what was committed
    when it began, on either connection; a transaction that has written rows of its own keeps the
    work (another connection could not see them), and it runs when its result is asked for."""
    if has_written(session):
        yield lambda: work(session)
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(_on_own_connection, session.get_bind().engine, work)
        yield future.result
