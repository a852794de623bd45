"""Published "what we changed" notes, for the satisfaction trend's markers.

`metrics` may not import `messaging` (architecture.md), and the notes are
messaging's (messaging.models.FeedbackChange). So messaging registers its
answer here in its AppConfig.ready(), and metrics' chart asks here, the same
way program asks metrics through portal_adoption.program_hooks.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class ChangeMarker:
    """A month in which a change was published, and what it was about. No patient data."""

    month: date  # the first day of the month (practice time)
    label: str  # the note's tag, for a person ("Scheduling")


PublishedChanges = Callable[[date, date], list[ChangeMarker]]

_published_changes: list[PublishedChanges] = []


def register_published_changes(answer: PublishedChanges) -> None:
    """`answer(first_month, last_month)`: the markers of the months from one to the other."""
    _published_changes[:] = [answer]


def published_changes(first_month: date, last_month: date) -> list[ChangeMarker]:
    """One marker per (month, tag) with a published note, months inclusive; [] if nobody
    registered (a deployment without messaging)."""
    if not _published_changes:
        return []
    return _published_changes[0](first_month.replace(day=1), last_month.replace(day=1))
