from django.conf import settings

from portal_adoption.navigation import nav_for
from portal_adoption.selectors import user_roles


def shell(request):
    """What the page shell needs: the practice, the user's roles, the menu."""
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {"practice_name": settings.PRACTICE_NAME}
    return {
        "practice_name": settings.PRACTICE_NAME,
        "nav_items": nav_for(user, request.path),
        "current_roles": [role.label for role in user_roles(user)],
        "session_idle_minutes": settings.SESSION_IDLE_MINUTES,
    }
