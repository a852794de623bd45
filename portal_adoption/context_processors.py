from django.conf import settings

from portal_adoption.navigation import nav_for
from portal_adoption.roles import WORK_CLINICAL_QUEUE
from portal_adoption.selectors import user_roles
from portal_adoption.two_factor import second_factor_pending


def shell(request):
    """What the page shell needs: the practice, the user's roles, the menu."""
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {"practice_name": settings.PRACTICE_NAME}
    if second_factor_pending(request):
        # Half signed in: no menu, no polls, only the way to finish or sign out.
        return {
            "practice_name": settings.PRACTICE_NAME,
            "second_factor_pending": True,
            "session_idle_minutes": settings.SESSION_IDLE_MINUTES,
        }
    nav_items = nav_for(user, request.path)
    setup_items = [item for item in nav_items if item["setup"]]
    return {
        "practice_name": settings.PRACTICE_NAME,
        "nav_items": nav_items,
        "setup_items": setup_items,
        "setup_active": any(item["active"] for item in setup_items),
        "watches_urgent": user.has_perm(WORK_CLINICAL_QUEUE),
        "current_roles": [role.label for role in user_roles(user)],
        "session_idle_minutes": settings.SESSION_IDLE_MINUTES,
    }
