"""Monthly rollups that other apps own, run by metrics' nightly rollup.

The managers' reports of `messaging` (response times) and `enrollment`
(incentive cohorts) read tallies rolled up per month, as the dashboard reads
MonthlyRollup. Those apps may not import `metrics` (architecture.md), and
metrics must not import their internals. So each registers its rollup here in
its AppConfig.ready(), and metrics' `rollup_month` (the nightly run,
`rollup_metrics --month` and `--all`) calls every registered hook for each
month it recomputes, inside the same transaction: a month's dashboard rows
and report tallies are replaced together, or not at all.

A hook can also say which months need it again:
- `changed_months(since)`: months that what was recorded at or after `since`
  changes for this report beyond metrics' own stale-month rule (a reply today
  to last month's message changes last month's arrival figures). Metrics
  marks them stale with its own marks, so they are recomputed the next night.
- `open_months(today)`: months whose figures still move with the clock alone
  (a cohort's "active at 90 days" is judged up to 90 days after enrollment).
  The nightly run recomputes this hook (only) for those months.

Each hook's `rollup(month, reads)` gets what metrics' rollup of the whole
practice already read for that month (`MonthReads`), so that a report does not
read the same rows again: the response-time report's first responses are the
dashboard's. A hook's `read(month)`, if it has one, is its own reads of the
month (reads only): the rollup runs it on a second connection while the
dashboard's figures are read on the first (portal_adoption.db.second_connection),
and the hook finds its answer in `reads.read_of(name)`. `reads` is None when a
hook runs alone (its open months), and the hook then reads for itself.
"""

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any


@dataclass
class MonthReads:
    """What the rollup of a month read for the whole practice, for the hooks to reuse.

    Lives for one rollup transaction, in memory: never stored, never logged.
    """

    month: date
    # patients.selectors.FirstResponseRow of every patient message whose first
    # response is in the month, each with (location id, provider id) as `extra`.
    first_responses: Sequence[Any] | None = None
    # The hooks' own reads of the month, by hook name, running or done.
    hook_reads: dict[str, Future] = field(default_factory=dict)

    def start_hook_reads(self, hooks: Iterable["MonthlyRollupHook"], submit) -> None:
        """Queue each hook's read of the month with `submit` (a second connection's)."""
        for hook in hooks:
            if hook.read is not None:
                self.hook_reads[hook.name] = submit(partial(hook.read, self.month))

    def read_of(self, name: str) -> Any | None:
        """The answer of hook `name`'s read of the month (waiting for it), or None."""
        future = self.hook_reads.get(name)
        return future.result() if future is not None else None


@dataclass(frozen=True)
class MonthlyRollupHook:
    """One report's monthly rollup. Never carries patient data."""

    name: str  # e.g. "messaging.response_times"
    # Recompute the month (its first day), replacing its rows; `reads` may be None.
    rollup: Callable[[date, MonthReads | None], object]
    # Its reads of the month, run beside the dashboard's (see the module docstring).
    read: Callable[[date], object] | None = None
    changed_months: Callable[[datetime], Iterable[date]] | None = None
    open_months: Callable[[date], Iterable[date]] | None = None


_hooks: dict[str, MonthlyRollupHook] = {}


def register_monthly_rollup(hook: MonthlyRollupHook) -> None:
    """Register (or replace, by name) a hook; apps call this in AppConfig.ready()."""
    _hooks[hook.name] = hook


def monthly_rollups() -> list[MonthlyRollupHook]:
    """The registered hooks, in name order (the order they run in)."""
    return [_hooks[name] for name in sorted(_hooks)]
