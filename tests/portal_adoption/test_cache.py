"""The cache is a speed-up, never a dependency (issue 10, finding 15).

With Redis down, pages must still answer. Every use of the cache goes through
portal_adoption.cache, which treats a cache error as a miss; this file fails
when application code reaches for django.core.cache directly.
"""

import ast
import threading
import time
from pathlib import Path

import pytest
from django.core.cache.backends.base import BaseCache

from portal_adoption import cache as cache_module
from portal_adoption.cache import cached

ROOT = Path(__file__).resolve().parents[2]
APPS = ["portal_adoption", "patients", "enrollment", "messaging", "metrics"]
THE_ONE_PLACE = Path("portal_adoption/cache.py")


def cache_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("django.core.cache"):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} from {node.module} import ...")
        if isinstance(node, ast.Import):
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno} import {alias.name}"
                for alias in node.names
                if alias.name.startswith("django.core.cache")
            ]
    return found


@pytest.mark.reads_the_source
def test_only_portal_adoption_cache_uses_the_cache():
    uses = [
        use
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts and path.relative_to(ROOT) != THE_ONE_PLACE
        for use in cache_imports(path)
    ]
    assert uses == [], (
        "Use portal_adoption.cache.cached (a cache error is a miss), or a table with a "
        "unique constraint for anything that must hold when Redis is down."
    )


class BrokenCache(BaseCache):
    def __init__(self, location, params):
        super().__init__(params)

    def get(self, *args, **kwargs):
        raise ConnectionError("Redis is down")

    set = get


@pytest.fixture
def cache_down(settings):
    settings.CACHES = {"default": {"BACKEND": "tests.portal_adoption.test_cache.BrokenCache"}}


def test_a_cache_error_is_a_miss_and_the_value_is_computed(cache_down, caplog):
    assert cached("metrics:chart:abc", lambda: "<svg/>", timeout=60) == "<svg/>"
    assert "cache read failed for metrics:chart:…: ConnectionError" in caplog.text
    assert "abc" not in caplog.text  # the key's details stay out of the log


def test_a_working_cache_computes_once(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    calls = []
    for _ in range(3):
        assert cached("test:once", lambda: calls.append(1) or "value", timeout=60) == "value"
    assert calls == [1]


def test_a_refresh_computes_again_and_keeps_the_new_value(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert cached("test:refresh", lambda: "old", timeout=60) == "old"
    assert cached("test:refresh", lambda: "new", timeout=60, refresh=True) == "new"
    assert cached("test:refresh", lambda: "never", timeout=60) == "new"


def test_a_refresh_with_the_cache_down_still_computes(cache_down):
    assert cached("test:refresh", lambda: "value", timeout=60, refresh=True) == "value"


# --- One computation at a time per key (a stampede of page loads or "count again") ---


@pytest.fixture
def shared_cache(settings):
    # LocMemCache: one store shared by every thread of the process, like Redis for workers.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "sf"}
    }
    from django.core.cache import cache

    cache.clear()
    yield cache
    cache.clear()


def _at_once(count: int, call) -> list:
    """`call()` in `count` threads released together; their results."""
    start = threading.Barrier(count)
    results = [None] * count

    def run(index):
        start.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def _slow_counter(calls: list):
    def compute():
        calls.append(1)
        time.sleep(0.3)  # long enough that every thread arrives while it runs
        return f"value {len(calls)}"

    return compute


def test_eight_managers_loading_an_uncounted_page_at_once_count_it_once(shared_cache):
    calls = []
    results = _at_once(8, lambda: cached("test:stampede", _slow_counter(calls), timeout=60))
    assert calls == [1]
    assert results == ["value 1"] * 8


def test_two_managers_pressing_count_again_at_once_count_once(shared_cache):
    cached("test:recount", lambda: "old", timeout=60)
    calls = []
    compute = _slow_counter(calls)
    results = _at_once(2, lambda: cached("test:recount", compute, timeout=60, refresh=True))
    assert calls == [1]
    assert results == ["value 1", "value 1"]
    assert cached("test:recount", lambda: "never", timeout=60) == "value 1"


def test_a_count_that_fails_lets_the_next_request_count(shared_cache):
    def fails():
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        cached("test:fails", fails, timeout=60)
    started = time.monotonic()
    assert cached("test:fails", lambda: "value", timeout=60) == "value"
    assert time.monotonic() - started < 1  # no wait for a count nobody is making


def test_a_request_that_died_counting_holds_up_the_next_only_so_long(shared_cache, monkeypatch):
    monkeypatch.setattr(cache_module, "COMPUTE_WAIT_SECONDS", 0.3)
    shared_cache.add("test:orphan:computing", 1, timeout=60)  # its worker was killed
    started = time.monotonic()
    assert cached("test:orphan", lambda: "value", timeout=60) == "value"
    assert 0.3 <= time.monotonic() - started < 5
