"""The navigation bar: one entry per area, shown to the roles that may use it."""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal_adoption.roles import VIEW_ACCESS_LOG, VIEW_PATIENTS


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str | None = None
    staff_only: bool = False
    description: str = ""

    def visible_to(self, user) -> bool:
        if self.staff_only and not user.is_staff:
            return False
        return self.permission is None or user.has_perm(self.permission)


NAV_ITEMS = [
    NavItem(_("Home"), "home"),
    NavItem(
        _("Patients"),
        "patients:list",
        VIEW_PATIENTS,
        description=_("Find a patient and see their portal activity."),
    ),
    NavItem(
        _("Access log"),
        "access_log",
        VIEW_ACCESS_LOG,
        description=_("Who looked at which patient's data, when and from where."),
    ),
    NavItem(
        _("Administration"),
        "admin:index",
        staff_only=True,
        description=_("Staff accounts, roles, locations and providers."),
    ),
]


def nav_for(user, current_path: str) -> list[dict]:
    entries = []
    for item in NAV_ITEMS:
        if not item.visible_to(user):
            continue
        url = reverse(item.url_name)
        active = current_path == url if url == "/" else current_path.startswith(url)
        entries.append(
            {
                "label": item.label,
                "url": url,
                "active": active,
                "description": item.description,
            }
        )
    return entries
