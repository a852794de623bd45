"""The rollout plan's status for every page that shows it (the dashboard's banner).

`metrics` may not import `program`, so its template reads `program_plan_status`
from here. Lazy: the plan is read only when a template asks for it.
"""

from django.utils.functional import SimpleLazyObject


def plan_status(request):
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {}

    def status():
        from program.selectors.plan import plan_status as read

        return read(user)

    return {"program_plan_status": SimpleLazyObject(status)}
