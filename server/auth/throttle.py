"""Sign-in throttling: failed attempts are limited per user name and per client address,
and password hashes are computed a few at a time, off the event loop.

A name or an address with too many recent failures is locked until its window moves on
(moving window of the ``limits`` package, so the lockout ends by itself); the answer is
429 with Retry-After. Argon2 costs ~50 ms of CPU: a flood of sign-ins waits for one of
``HASH_SLOTS`` as coroutines instead of filling the worker's thread pool, so /healthz and
every other request keep their threads.

The counters live in ``sign_in_rate_storage`` (``memory://``: per worker process; give
every worker the same ``redis://…`` to share them).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TypeVar

import anyio
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from server.core.errors import TooManyAttempts

HASH_SLOTS = 2  # concurrent password hashes per worker (2 cores)
T = TypeVar("T")


class SignInThrottle:
    """Failed sign-ins per user name and per address, and the hashing slots."""

    def __init__(
        self,
        *,
        storage_uri: str = "memory://",
        per_user: str = "5/15 minutes",
        per_address: str = "30/15 minutes",
    ) -> None:
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self.per_user: RateLimitItem = parse(per_user)
        self.per_address: RateLimitItem = parse(per_address)
        self._slots: anyio.CapacityLimiter | None = None

    def _keys(self, name: str, address: str) -> list[tuple[RateLimitItem, str, str]]:
        return [(self.per_user, "user", name.casefold()), (self.per_address, "addr", address)]

    def check(self, *, name: str, address: str) -> None:
        """Raise :class:`TooManyAttempts` while the name or the address is locked."""
        wait = 0
        for item, kind, key in self._keys(name, address):
            if not self.limiter.test(item, "signin", kind, key):
                reset_at, _left = self.limiter.get_window_stats(item, "signin", kind, key)
                wait = max(wait, math.ceil(reset_at - time.time()), 1)
        if wait:
            raise TooManyAttempts(
                f"登录失败次数过多，请 {wait} 秒后再试 / too many failed sign-ins: try again "
                f"in {wait} s",
                retry_after_s=wait,
            )

    def failed(self, *, name: str, address: str) -> None:
        for item, kind, key in self._keys(name, address):
            self.limiter.hit(item, "signin", kind, key)

    def succeeded(self, *, name: str) -> None:
        """A good sign-in forgets that name's failures (the address's stay counted)."""
        self.limiter.clear(self.per_user, "signin", "user", name.casefold())

    async def hash_slot(self, work: Callable[[], T]) -> T:
        """Run ``work`` (a password hash) in a thread once one of the slots is free."""
        if self._slots is None:  # made inside the event loop that uses it
            self._slots = anyio.CapacityLimiter(HASH_SLOTS)
        return await anyio.to_thread.run_sync(work, limiter=self._slots)
