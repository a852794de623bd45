"""The demo practice's training, partly complete, through the same services staff use.

- The front desk did the enrollment module in week 1 (a session the manager recorded).
- Message triage is partly done: the nurse and the front desk, not billing.
- The nurse's quarterly refresher is overdue (last done four months ago).
Running it again adds nothing: completions are unique per person, module and day,
and a session is recorded only when its day has none yet.
"""

import datetime as dt

from portal_adoption.models import User
from program.models.training import TrainingModule, TrainingSession
from program.services.training import training_session_record


def _session(module_key, held_on, usernames, *, by, led_by=None):
    module = TrainingModule.objects.filter(key=module_key, active=True).first()
    people = list(User.objects.filter(username__in=usernames, is_active=True))
    if module is None or not people:
        return
    if TrainingSession.objects.filter(module=module, held_on=held_on).exists():
        return
    training_session_record(module=module, held_on=held_on, attendees=people, by=by, led_by=led_by)


def demo_training(today: dt.date) -> None:
    manager = User.objects.filter(username="manager").first()
    if manager is None:  # demo_data has not created the demo logins
        return
    # The plan is in week 9: enrollment training in its first weeks, triage in the messaging phase.
    early_in_the_plan = today - dt.timedelta(days=54)
    _session("enrollment_at_checkin", early_in_the_plan, ["frontdesk"], by=manager, led_by=manager)
    _session(
        "message_triage",
        today - dt.timedelta(weeks=4),
        ["nurse", "frontdesk"],
        by=manager,
        led_by=manager,
    )
    _session("quarterly_refresher", today - dt.timedelta(days=122), ["nurse"], by=manager)
