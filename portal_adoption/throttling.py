"""Failed sign-ins and refused API keys, counted per client address.

The access log can never be cleaned, so a flood of refused requests must not
be able to fill it. DRF's throttles run after authentication and never see a
request whose key was refused, so this module counts the refusals themselves:

1. Each refusal adds one to a counter for (kind, address, time window) in the
   cache (Redis in production, local memory otherwise).
2. Past AUTH_FAILURE_LIMIT refusals in a window the address gets 429 until the
   window ends. The first 429 of a window writes one access-log row; the rest
   write none.
3. If the cache cannot be reached (Redis down), counting goes on in this
   process's memory: the limit still holds per worker, and nothing answers 500.

The address is `client_ip`, the application's one client-address function.
"""

import time
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

from portal_adoption.cache import count_of, count_up
from portal_adoption.selectors import client_ip


@dataclass(frozen=True)
class FailureCount:
    count: int
    limit: int
    retry_after: int

    @property
    def over(self) -> bool:
        return self.count > self.limit

    @property
    def first_over(self) -> bool:
        """The request that crossed the limit: the one that writes the summary row."""
        return self.count == self.limit + 1


@dataclass(frozen=True)
class FailureThrottle:
    kind: str

    def record(self, request: HttpRequest) -> FailureCount:
        """Count one more refusal from this request's address."""
        key, retry_after = self._key(request)
        return FailureCount(
            count_up(key, timeout=retry_after), settings.AUTH_FAILURE_LIMIT, retry_after
        )

    def current(self, request: HttpRequest) -> FailureCount:
        """The refusals counted so far in this window, without adding one."""
        key, retry_after = self._key(request)
        return FailureCount(count_of(key), settings.AUTH_FAILURE_LIMIT, retry_after)

    def _key(self, request: HttpRequest) -> tuple[str, int]:
        window = settings.AUTH_FAILURE_WINDOW_MINUTES * 60
        now = int(time.time())
        slot = now // window
        retry_after = window - now % window
        return f"auth-failures:{self.kind}:{client_ip(request) or 'unknown'}:{slot}", retry_after


API_KEY_FAILURES = FailureThrottle("api")
SIGN_IN_FAILURES = FailureThrottle("sign-in")
