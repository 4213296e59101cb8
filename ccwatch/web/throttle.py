"""Log-in throttling: growing delays per account and per address, an account's temporary
lock-out that an administrator can lift, and password verification on a bounded pool.

Counts live in the database (``login_attempts``), so that every web process sees them and
``ccwatch users unlock`` works from a shell. An attempt is counted as a failure when it
starts, under the rows' lock, and taken back if the password was right: parallel guesses
cannot slip past the count. A refused attempt (429 with Retry-After) never reaches the
password hash, and the server never sleeps. Unknown user names are counted and locked like
real accounts, so the answers do not tell them apart.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, and_, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models.access import LoginAttempts

T = TypeVar("T")
ACCOUNT, ADDRESS = "user:", "addr:"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ThrottlePolicy:
    account_free: int = 3  # failures of an account before delays start
    address_free: int = 20  # of an address (several people may share one)
    delay_s: float = 1.0  # the first delay; it doubles with each further failure
    account_max_delay_s: float = 60.0
    address_max_delay_s: float = 300.0
    lockout_after: int = 10  # consecutive failures that lock an account
    lockout_s: float = 900.0
    account_forget_s: float = 86_400.0  # failures forgotten after this long without one
    address_forget_s: float = 3_600.0

    def delay(self, key: str, failures: int) -> float:
        account = key.startswith(ACCOUNT)
        beyond = failures - (self.account_free if account else self.address_free)
        if beyond <= 0:
            return 0.0
        cap = self.account_max_delay_s if account else self.address_max_delay_s
        return min(cap, self.delay_s * 2.0 ** min(beyond - 1, 30))

    def forget_after(self, key: str) -> timedelta:
        s = self.account_forget_s if key.startswith(ACCOUNT) else self.address_forget_s
        return timedelta(seconds=s)


@dataclass(frozen=True)
class Attempt:
    """A log-in allowed to check its password, counted as a failure until it succeeds."""

    user: str
    address: str

    @property
    def keys(self) -> list[str]:
        return sorted((ACCOUNT + self.user, ADDRESS + self.address))  # one lock order


@dataclass(frozen=True)
class Refusal:
    """Not now: the account is locked, or the account or the address must wait."""

    key: str
    until: datetime
    locked: bool

    def retry_after(self, now: datetime) -> int:
        """Whole seconds, as HTTP's Retry-After wants them (at least 1)."""
        return max(1, math.ceil((self.until - now).total_seconds()))

    @property
    def by(self) -> str:
        return "account" if self.key.startswith(ACCOUNT) else "address"


class Throttle:
    def __init__(
        self,
        engine: Engine,
        policy: ThrottlePolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine, self.policy, self.clock = engine, policy or ThrottlePolicy(), clock

    def begin(self, user: str, address: str) -> Attempt | Refusal:
        """Allow an attempt (and count it), or refuse it without touching the hash."""
        attempt = Attempt(user, address)
        now = self.clock()
        with Session(self.engine) as session:  # refusals read only: a flood writes nothing
            rows = session.scalars(
                select(LoginAttempts).where(LoginAttempts.key.in_(attempt.keys))
            ).all()
            if refused := self._refusal(rows, now):
                return refused
        with Session(self.engine) as session, session.begin():
            rows = self._lock_rows(session, attempt.keys, now)
            if refused := self._refusal(rows, now):
                return refused
            for row in rows:
                locked = row.locked_until and row.locked_until > now
                if row.last_at < now - self.policy.forget_after(row.key) and not locked:
                    row.failures, row.locked_until = 0, None
                row.failures += 1
                row.last_at = now
                wait = self.policy.delay(row.key, row.failures)
                row.retry_at = now + timedelta(seconds=wait) if wait else None
        return attempt

    def failed(self, attempt: Attempt) -> datetime | None:
        """The password was wrong (the failure is counted already): lock the account after
        too many; returns the end of a lock-out this failure started."""
        now = self.clock()
        with Session(self.engine) as session, session.begin():
            row = session.get(LoginAttempts, ACCOUNT + attempt.user, with_for_update=True)
            if row is None or row.failures < self.policy.lockout_after:
                return None
            if row.locked_until and row.locked_until > now:
                return None  # locked meanwhile by a parallel attempt
            row.locked_until = row.retry_at = now + timedelta(seconds=self.policy.lockout_s)
            return row.locked_until

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: the account starts afresh, the address gets its attempt
        back; rows long forgotten are removed."""
        now = self.clock()
        with Session(self.engine) as session, session.begin():
            account = session.get(LoginAttempts, ACCOUNT + attempt.user, with_for_update=True)
            if account is not None:
                session.delete(account)
            self._take_back(session, ADDRESS + attempt.address)
            self._prune(session, now)

    def abandon(self, attempt: Attempt) -> None:
        """The password was not checked (too many log-ins at once): take the attempt back."""
        with Session(self.engine) as session, session.begin():
            for key in attempt.keys:
                self._take_back(session, key)

    def unlock(self, user: str) -> bool:
        """Lift an account's lock-out and forget its failures; False: it had none."""
        with Session(self.engine) as session, session.begin():
            return unlock(session, user)

    def locked(self) -> list[dict[str, Any]]:
        """Accounts locked now (unknown user names too), the latest first."""
        now = self.clock()
        with Session(self.engine) as session:
            rows = session.scalars(
                select(LoginAttempts)
                .where(LoginAttempts.key.startswith(ACCOUNT), LoginAttempts.locked_until > now)
                .order_by(LoginAttempts.locked_until.desc())
            ).all()
        return [
            {
                "user": r.key.removeprefix(ACCOUNT),
                "failures": r.failures,
                "last_attempt_at": r.last_at.isoformat(),
                "locked_until": r.locked_until.isoformat() if r.locked_until else None,
            }
            for r in rows
        ]

    # ---------------------------------------------------------------------------------
    def _refusal(self, rows: Sequence[LoginAttempts], now: datetime) -> Refusal | None:
        waits = [
            Refusal(r.key, r.retry_at, locked=bool(r.locked_until and r.locked_until > now))
            for r in rows
            if r.retry_at and r.retry_at > now
        ]
        return max(waits, key=lambda w: w.until, default=None)

    def _lock_rows(
        self, session: Session, keys: list[str], now: datetime
    ) -> Sequence[LoginAttempts]:
        """The attempt's rows, created if new, locked until the transaction ends (on SQLite
        the insert takes the database's write lock first, so the read below is current)."""
        table = LoginAttempts.__table__
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(table).values(
            [{"key": k, "failures": 0, "last_at": now} for k in keys]
        )
        session.execute(stmt.on_conflict_do_nothing())
        return session.scalars(
            select(LoginAttempts)
            .where(LoginAttempts.key.in_(keys))
            .order_by(LoginAttempts.key)
            .with_for_update()
        ).all()

    def _take_back(self, session: Session, key: str) -> None:
        row = session.get(LoginAttempts, key, with_for_update=True)
        if row is None or row.locked_until:
            return
        row.failures = max(0, row.failures - 1)
        if not self.policy.delay(key, row.failures):
            row.retry_at = None

    def _prune(self, session: Session, now: datetime) -> None:
        p = self.policy
        session.execute(
            delete(LoginAttempts).where(
                or_(LoginAttempts.locked_until.is_(None), LoginAttempts.locked_until < now),
                or_(
                    *(
                        and_(
                            LoginAttempts.key.startswith(kind),
                            LoginAttempts.last_at < now - p.forget_after(kind),
                        )
                        for kind in (ACCOUNT, ADDRESS)
                    )
                ),
            )
        )


def unlock(session: Session, user: str) -> bool:
    """In the caller's transaction: lift the account's lock-out, forget its failures."""
    row = session.get(LoginAttempts, ACCOUNT + user, with_for_update=True)
    if row is None:
        return False
    session.delete(row)
    return row.failures > 0


class Busy(Exception):
    """Too many log-ins are waiting for the password hash already."""


class Verifier:
    """Password hashing on a thread pool of its own, ``concurrency`` at a time and at most
    ``queue`` more waiting: a flood of log-ins takes neither the event loop nor the threads
    that every other request's database work runs on."""

    def __init__(self, concurrency: int, queue: int) -> None:
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="argon2")
        self._room = concurrency + queue
        self._in = 0

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._in >= self._room:
            raise Busy
        self._in += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        finally:
            self._in -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
