"""The cache is a speed-up, never a dependency: every use of it goes through here.

In production the cache is Redis, which can be down while PostgreSQL is up.
A page must then still answer, only slower. So a cache error counts as a
miss, the value is computed, and the error is logged (the key's prefix and
the error's class: keys and values stay out of the log). Nothing that must
hold ("at most once", a claim, a limit) belongs in the cache: use a table
with a unique constraint. tests/portal_adoption/test_cache.py fails when
application code uses django.core.cache directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache

log = logging.getLogger(__name__)
# Where counters go while the cache is down: per process, so a limit still holds
# per worker (portal_adoption/throttling.py).
_process_memory = LocMemCache("counters-while-the-cache-is-down", {})

T = TypeVar("T")


# One computation at a time per key (single flight): while one request computes a
# value, others wait for it instead of computing it too, at most this long; then
# (the first one died, say) they compute it themselves. A speed-up only: the
# mark is in the cache, and a cache that is down only means each computes.
COMPUTE_WAIT_SECONDS = 30
_POLL_SECONDS = 0.1


def cached(key: str, compute: Callable[[], T], *, timeout: int, refresh: bool = False) -> T:
    """The cached value of `key`, or `compute()` (stored for next time when the cache works).

    `compute` must not return None: None means "not cached". With `refresh` the
    cached value is not read: `compute()` replaces it (a "count again" button).
    While another request computes `key` (a miss, or a refresh), this one waits
    for its value rather than computing the same thing again at the same time.
    """
    try:
        value = None if refresh else cache.get(key)
        if value is None:
            value = _computed_meanwhile(key)
    except Exception as error:  # the cache is down: compute, and do not try to store
        _warn("read", key, error)
        return compute()
    if value is None:
        try:
            value = compute()
            cache.set(key, value, timeout)
        except Exception as error:
            if value is None:  # compute() failed: nothing to store, the caller sees why
                _release(key)
                raise
            _warn("write", key, error)
        _release(key)
    return value


def _computed_meanwhile(key: str):
    """None once this request holds the computing mark of `key` (then it computes);
    else the value another request computed while this one waited for it."""
    mark = _computing(key)
    deadline = time.monotonic() + COMPUTE_WAIT_SECONDS
    while not cache.add(mark, 1, timeout=COMPUTE_WAIT_SECONDS):
        if time.monotonic() >= deadline:
            return None  # whoever held it is gone: compute here
        time.sleep(_POLL_SECONDS)
        if cache.get(mark) is None and (value := cache.get(key)) is not None:
            return value
    return None


def _release(key: str) -> None:
    try:
        cache.delete(_computing(key))
    except Exception as error:
        _warn("write", key, error)


def _computing(key: str) -> str:
    return f"{key}:computing"


def _warn(operation: str, key: str, error: Exception) -> None:
    log.warning(
        "cache %s failed for %s:…: %s; going on without the cache",
        operation,
        ":".join(key.split(":")[:2]),
        type(error).__name__,
    )


def count_up(key: str, *, timeout: int) -> int:
    """Add one to the counter `key` (kept `timeout` seconds) and return the new count.

    A limit counted here must not fail open nor answer 500 when Redis is down:
    the count goes on in this process's memory until the cache is back.
    """
    try:
        return _count_up_in(cache, key, timeout)
    except Exception as error:
        _warn("count", key, error)
        return _count_up_in(_process_memory, key, timeout)


def count_of(key: str) -> int:
    """The counter `key` as it stands (0 when never counted)."""
    try:
        return int(cache.get(key) or 0)
    except Exception:
        return int(_process_memory.get(key) or 0)


def _count_up_in(store, key: str, timeout: int) -> int:
    store.add(key, 0, timeout=timeout + 1)
    try:
        return store.incr(key)
    except ValueError:  # expired between add and incr
        store.set(key, 1, timeout=timeout + 1)
        return 1
