"""The navigation bar: one entry per area, shown to the roles that may use it."""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal_adoption.roles import (
    ENROLL_PATIENTS,
    IMPORT_FEED,
    MANAGE_ENROLLMENT,
    MANAGE_MESSAGING,
    USE_PHONE_SCRIPTS,
    VIEW_ACCESS_LOG,
    VIEW_DASHBOARD,
    VIEW_PATIENTS,
    WORK_BILLING_QUEUE,
    WORK_CLINICAL_QUEUE,
    WORK_FRONT_DESK_QUEUE,
    WORK_PROVIDER_TASKS,
)


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str | tuple[str, ...] | None = None
    staff_only: bool = False
    description: str = ""
    # Set-up and oversight pages share one "Manage" menu, so the bar fits a tablet.
    setup: bool = False
    # Other apps' pages that belong to this area: the folder of each named URL
    # (the messaging reports live under /messages/reports/, yet are Reports).
    also_under: tuple[str, ...] = ()

    def visible_to(self, user) -> bool:
        if self.staff_only and not user.is_staff:
            return False
        if self.permission is None:
            return True
        needed = (self.permission,) if isinstance(self.permission, str) else self.permission
        return any(user.has_perm(code) for code in needed)


NAV_ITEMS = [
    NavItem(_("Home"), "home"),
    NavItem(
        _("Check-in"),
        "enrollment:checkin",
        ENROLL_PATIENTS,
        description=_("Find the patient at the desk and enroll them in the portal."),
    ),
    NavItem(
        _("Follow-up"),
        "enrollment:follow_up",
        ENROLL_PATIENTS,
        description=_("Patients who were invited a week ago and have not logged in."),
    ),
    NavItem(
        _("Phone call"),
        "enrollment:phone",
        USE_PHONE_SCRIPTS,
        description=_("A patient on the line: the portal script for booking or results."),
    ),
    NavItem(
        _("Queues"),
        "messaging:queues",
        (WORK_CLINICAL_QUEUE, WORK_FRONT_DESK_QUEUE, WORK_BILLING_QUEUE),
        description=_("Patient messages to answer, urgent first, with their due times."),
    ),
    NavItem(
        _("My tasks"),
        "messaging:tasks",
        WORK_PROVIDER_TASKS,
        description=_("Messages escalated to you by the care team."),
    ),
    NavItem(
        _("Program"),
        "program:plan",
        description=_("The 20-week rollout plan: this week's phase and the tasks that are yours."),
    ),
    NavItem(
        _("Dashboard"),
        "metrics:dashboard",
        VIEW_DASHBOARD,
        description=_("Portal adoption, engagement and impact by month, with targets and exports."),
    ),
    NavItem(
        _("Reports"),
        "enrollment:report_staff",
        VIEW_DASHBOARD,
        also_under=("enrollment:report_staff", "messaging:report_response_times"),
        description=_("Enrollments per staff member, declines, incentives and response times."),
    ),
    NavItem(
        _("Patients"),
        "patients:list",
        VIEW_PATIENTS,
        description=_("Find a patient and see their portal activity."),
    ),
    NavItem(
        _("Tech help"),
        "enrollment:tech_help",
        MANAGE_ENROLLMENT,
        description=_("Weekly tech-help sessions and their seats."),
        setup=True,
    ),
    NavItem(
        _("Incentives"),
        "enrollment:incentives",
        MANAGE_ENROLLMENT,
        description=_("What the practice offers patients for enrolling."),
        setup=True,
    ),
    NavItem(
        _("Scripts"),
        "enrollment:scripts",
        MANAGE_ENROLLMENT,
        description=_(
            "What staff say about the portal at check-in, in the visit and on the phone."
        ),
        setup=True,
    ),
    NavItem(
        _("Message settings"),
        "messaging:settings",
        MANAGE_MESSAGING,
        description=_("Routing rules, red flags, reply templates and business hours."),
        setup=True,
    ),
    NavItem(
        _("Nightly workers"),
        "messaging:outreach",
        MANAGE_MESSAGING,
        description=_("Reminders, app links, campaigns and surveys: last night and tonight."),
        setup=True,
    ),
    NavItem(
        _("Patient feedback"),
        "messaging:feedback",
        MANAGE_MESSAGING,
        description=_("Survey comments, their tags, and what we changed after them."),
        setup=True,
    ),
    NavItem(
        _("Imports"),
        "patients:imports",
        IMPORT_FEED,
        description=_("Bring in the roster and portal events from the EHR and the portal."),
        setup=True,
    ),
    NavItem(
        _("Access log"),
        "access_log",
        VIEW_ACCESS_LOG,
        description=_("Who looked at which patient's data, when and from where."),
        setup=True,
    ),
    NavItem(
        _("Administration"),
        "admin:index",
        staff_only=True,
        description=_("Staff accounts, roles, locations and providers."),
        setup=True,
    ),
]


def _folder(url_name: str) -> str:
    """/messages/reports/response-times/ -> /messages/reports/"""
    return reverse(url_name).rstrip("/").rsplit("/", 1)[0] + "/"


def nav_for(user, current_path: str) -> list[dict]:
    entries = [
        {
            "label": item.label,
            "url": reverse(item.url_name),
            "prefixes": [reverse(item.url_name), *map(_folder, item.also_under)],
            "description": item.description,
            "setup": item.setup,
        }
        for item in NAV_ITEMS
        if item.visible_to(user)
    ]
    # The deepest area containing the page is the current one (/patients/imports/
    # is Imports, not Patients; /messages/reports/ is Reports, not Queues).
    matching = [
        (prefix, entry["url"])
        for entry in entries
        for prefix in entry["prefixes"]
        if current_path.startswith(prefix) and prefix != "/"
    ]
    current = max(matching, key=lambda m: len(m[0]), default=("/", "/"))[1]
    if not matching and current_path != "/":
        current = None
    for entry in entries:
        entry["active"] = entry["url"] == current
    return entries
