"""What the adoption program asks of the nightly rollups, and where the answers come from.

`program` may not import `metrics` (architecture.md: nothing imports metrics but
the URL conf and the Celery schedule). So `metrics` registers its answers here,
in its AppConfig.ready(), and `program` asks here: the arrow still points from
metrics to the project package, never into metrics.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class Evidence:
    """What the application saw that shows a task done. Never patient data."""

    at: datetime  # when it first became true
    summary: str  # e.g. "Targets saved for 6 figures"
    url: str  # where a manager sees it


@dataclass(frozen=True)
class PhaseFigure:
    """One figure a phase is judged by: the target beside the value reached."""

    key: str  # the figure's name in metrics.md, snake_case
    label: str
    target: str | None  # formatted for a person ("60%", "4.0 h"); None when no target is set
    value: str | None  # formatted; None when the month has no data
    month: date | None  # the rolled-up month the value comes from
    met: bool | None  # None when either side is missing


EvidenceCheck = Callable[[date], Evidence | None]
PhaseResults = Callable[[Sequence[str], date], list[PhaseFigure]]

_evidence_checks: dict[str, EvidenceCheck] = {}
_phase_results: list[PhaseResults] = []


def register_evidence(key: str, check: EvidenceCheck) -> None:
    """`check(since)` answers whether the thing was done on or after `since`."""
    _evidence_checks[key] = check


def evidence(key: str, since: date) -> Evidence | None:
    check = _evidence_checks.get(key)
    return check(since) if check else None


def register_phase_results(answer: PhaseResults) -> None:
    _phase_results[:] = [answer]


def phase_results(figure_keys: Sequence[str], as_of: date) -> list[PhaseFigure]:
    """The figures named, from the rollup of the month holding `as_of`, with their targets.

    The plan asks with a phase's middle day: a phase is judged by the month most of it ran in.
    """
    return _phase_results[0](figure_keys, as_of) if _phase_results else []
