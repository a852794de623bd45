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
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class MonthlyRollupHook:
    """One report's monthly rollup. Never carries patient data."""

    name: str  # e.g. "messaging.response_times"
    rollup: Callable[[date], object]  # recompute the month (its first day), replacing its rows
    changed_months: Callable[[datetime], Iterable[date]] | None = None
    open_months: Callable[[date], Iterable[date]] | None = None


_hooks: dict[str, MonthlyRollupHook] = {}


def register_monthly_rollup(hook: MonthlyRollupHook) -> None:
    """Register (or replace, by name) a hook; apps call this in AppConfig.ready()."""
    _hooks[hook.name] = hook


def monthly_rollups() -> list[MonthlyRollupHook]:
    """The registered hooks, in name order (the order they run in)."""
    return [_hooks[name] for name in sorted(_hooks)]
