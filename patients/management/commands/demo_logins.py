"""manage.py demo_logins: a fresh password per demo role, printed where a newcomer looks.

`make run` calls it last, just before the server starts, so the logins sit beside
"Serving on http://…" instead of above the migrate and rollup output.
"""

from django.core.checks import Tags
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patients.demo import SIGN_IN_URL, demo_staff_ensure
from portal_adoption.management.base import Command as ProjectCommand


class Command(ProjectCommand):
    # Only the models' checks: the full set imports every view (matplotlib's PDF backend
    # among them), a second of each demo command, and make run's migrate ran them already.
    requires_system_checks = [Tags.models]

    help = gettext_lazy(
        "Reset the demo staff logins (one per role, new passwords and recovery codes) "
        "and print them."
    )

    def handle(self, *args, **options):
        # One commit (SQLite waits for the disk at each), printed only once it is stored.
        with transaction.atomic():
            logins = demo_staff_ensure()
        print_logins(self.stdout, logins)


def print_logins(stdout, logins) -> None:
    """The demo logins as a table, each second step's recovery code, and where to sign in."""
    rows = [(_("Role"), _("Username"), _("Password"))]
    rows += [(str(login.role.label), login.username, login.password) for login in logins]
    for line in _table(rows):
        stdout.write(line)
    for login in logins:
        if login.recovery_code:
            stdout.write(
                _(
                    "%(username)s then asks for a second step: recovery code %(code)s "
                    "(works once; run again for a new one, or set up an authenticator app)."
                )
                % {"username": login.username, "code": login.recovery_code}
            )
    stdout.write(_("Sign in at %(url)s") % {"url": SIGN_IN_URL})


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
