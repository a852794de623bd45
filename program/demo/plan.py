"""The demo practice's rollout plan: started so that today is in week 9 (self-scheduling),
with some tasks ticked by hand (notes and all) and some overdue.

Idempotent: a current plan already in week 9 is kept as it is; the ticks are
made through the same service the page uses, and a second tick is a no-op.
"""

import datetime as dt

from django.contrib.auth import get_user_model

from program.selectors.plan import current_plan, plan_week
from program.services.plan import plan_start, task_tick

# (playbook task, who ticks it, the note)
DEMO_TICKS = [
    ("train_enrollment", "manager", "Two lunch sessions; the script is at every desk."),
    ("start_in_visit_enrollment", "frontdesk", "Started with the morning clinic."),
    ("promote_messaging", "frontdesk", "Cards at check-out and a line in the hold message."),
    ("configure_self_service_types", "manager", "Annual exams and follow-ups open online."),
]


def demo_plan(today: dt.date) -> None:
    users = get_user_model().objects
    manager = users.filter(username="manager").first()
    if manager is None:
        return  # demo_data makes the staff; without them there is no one to run the program
    plan = current_plan()
    if plan is None or plan_week(plan, today) != 9:
        plan = plan_start(start_date=today - dt.timedelta(days=7 * 8), by=manager)
    for key, username, note in DEMO_TICKS:
        task = plan.tasks.filter(playbook_key=key).first()
        person = users.filter(username=username).first()
        if task is None or person is None:
            continue
        task_tick(task=task, by=person, note=note, today=today)
