"""Guards for every step a worker takes against the database or the broker: none raises
into Faust, none waits without bound, each failure is reported (a metric and one log line)
and retried with capped backoff, and what can never succeed is told apart from an outage.

Faust ends the whole app when a timer or an agent raises; a worker must instead ride out a
database outage and catch up when it returns (docs/runbook.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import exc as sa

from streams import metrics

log = logging.getLogger("streams")
T = TypeVar("T")
FIRST_DELAY_S, MAX_DELAY_S = 0.5, 30.0


class Gave(Exception):
    """A write the database rejects for good (the data, not the server, is at fault)."""


def permanent(exc: BaseException) -> bool:
    """Whether retrying can never help: the database refused these values (a constraint,
    a value its column cannot hold), not because it is down, slow or unreachable."""
    if isinstance(exc, sa.DataError | sa.IntegrityError):
        return True
    # Raised before reaching the server, while binding a value (not a connection error).
    return isinstance(exc, sa.StatementError) and not isinstance(exc, sa.DBAPIError)


def describe(exc: BaseException) -> str:
    """One line naming the failure, without SQL parameters (they hold personal data)."""
    orig = getattr(exc, "orig", None)
    if orig is None:
        return type(exc).__name__
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return f"{type(exc).__name__} ({type(orig).__name__}{f' {code}' if code else ''})"


async def blocking(fn: Callable[..., T], *args: Any, timeout: float) -> T:
    """Run ``fn`` in a daemon thread and wait at most ``timeout`` seconds for it.

    A thread left waiting on a frozen server is abandoned, not joined: a daemon thread
    cannot hold up the process's exit (``asyncio.to_thread`` would, on SIGTERM)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)

    def run() -> None:
        try:
            result, error = fn(*args), None
        except BaseException as exc:  # handed to the waiting coroutine
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name=getattr(fn, "__name__", "db"), daemon=True).start()
    try:
        return await asyncio.wait_for(done, timeout)
    except TimeoutError:
        raise TimeoutError(f"no answer within {timeout:g} s") from None


async def retrying(
    name: str,
    fn: Callable[..., T],
    *args: Any,
    timeout: float,
    failures: Callable[[], None] | None = None,
) -> T:
    """``fn(*args)`` in a thread, retried with capped backoff until it succeeds. A
    permanent failure (:func:`permanent`) is raised as :class:`Gave` at once."""
    return await persist(name, blocking, fn, *args, timeout=timeout, failures=failures)


async def persist(
    name: str,
    attempt: Callable[..., Awaitable[T]],
    *args: Any,
    failures: Callable[[], None] | None = None,
    **kwargs: Any,
) -> T:
    """Await ``attempt(*args, **kwargs)`` until it succeeds, backing off between failures
    (each counted and logged); a permanent database failure is raised as :class:`Gave`."""
    delay = FIRST_DELAY_S
    while True:
        try:
            return await attempt(*args, **kwargs)
        except Exception as exc:
            if permanent(exc):
                raise Gave(describe(exc)) from exc
            if failures is not None:
                failures()
            log.warning("%s failed: %s; retrying in %.1f s", name, describe(exc), delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY_S)


def guarded(name: str, step: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """A timer step that never ends the app: a failure is counted and logged, and the
    timer runs again at its next interval."""

    async def run() -> None:
        try:
            await step()
        except Exception as exc:
            metrics.TIMER_FAILURES.labels(name).inc()
            log.warning("timer %s failed: %s", name, describe(exc))

    run.__name__ = run.__qualname__ = name.replace("-", "_")
    return run
