"""The demo practice's portal champion: named for the current month, once."""

from portal_adoption.models import User
from program.selectors.recognition import champion_of
from program.services.recognition import champion_name

# Demo logins from patients/demo.py (DEMO_STAFF).
DEMO_CHAMPION = "nurse"
DEMO_NAMED_BY = "manager"
DEMO_REASON = "Answered the nursing queue within the day all month and showed patients the app."


def demo_recognition(today):
    """Name the demo nurse champion of today's month, unless someone is named already.

    Idempotent: a second run finds the month's champion and adds nothing.
    Without the demo logins (demo_data not run) there is nobody to name.
    """
    month = today.replace(day=1)
    if champion_of(month) is not None:
        return
    users = {
        u.username: u for u in User.objects.filter(username__in=[DEMO_CHAMPION, DEMO_NAMED_BY])
    }
    if len(users) < 2:
        return
    champion_name(
        month=month, user=users[DEMO_CHAMPION], reason=DEMO_REASON, by=users[DEMO_NAMED_BY]
    )
