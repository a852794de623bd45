"""The dashboard's figures (metrics.md): their keys, kinds and default targets.

The keys are the snake_case names fixed by architecture.md. A "rate" or
"share" is a fraction from 0 to 1 and changes month over month in
percentage points; a "count", "money" or "hours" figure changes in percent.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

RATE = "rate"
COUNT = "count"
MONEY = "money"
HOURS = "hours"
SCORE = "score"
PERCENT_CHANGE = "percent_change"


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    kind: str
    section: str
    # Higher is better for every figure but response times and phone calls.
    higher_is_better: bool = True


ADOPTION, ENGAGEMENT, IMPACT = "adoption", "engagement", "impact"

FIGURES = [
    Figure("panel", _("Panel"), COUNT, ADOPTION),
    Figure("enrolled", _("Enrolled"), COUNT, ADOPTION),
    Figure("enrollment_rate", _("Enrollment rate"), RATE, ADOPTION),
    Figure("new_enrollments", _("New enrollments"), COUNT, ADOPTION),
    Figure("active_users", _("Active users"), COUNT, ADOPTION),
    Figure("active_user_rate", _("Active user rate"), RATE, ADOPTION),
    Figure("multi_feature_users", _("Multi-feature users"), COUNT, ADOPTION),
    Figure("multi_feature_share", _("Multi-feature share"), RATE, ADOPTION),
    Figure("app_install_rate", _("App install rate"), RATE, ADOPTION),
    Figure("messages_received", _("Messages received"), COUNT, ENGAGEMENT),
    Figure("messages_sent", _("Messages sent"), COUNT, ENGAGEMENT),
    Figure("messages_per_active_user", _("Messages per active user"), SCORE, ENGAGEMENT),
    Figure("appointments_self_scheduled", _("Self-scheduled appointments"), COUNT, ENGAGEMENT),
    Figure("self_scheduled_share", _("Self-scheduled share"), RATE, ENGAGEMENT),
    Figure("results_viewed", _("Results viewed"), COUNT, ENGAGEMENT),
    Figure("same_day_view_share", _("Same-day view share"), RATE, ENGAGEMENT),
    Figure("viewed_before_contact_share", _("Viewed before contact"), RATE, ENGAGEMENT),
    Figure("portal_payments", _("Portal payments"), MONEY, ENGAGEMENT),
    Figure("portal_payment_share", _("Portal payment share"), RATE, ENGAGEMENT),
    Figure("phone_calls", _("Phone calls"), COUNT, IMPACT, higher_is_better=False),
    Figure("phone_calls_change", _("Phone calls change"), PERCENT_CHANGE, IMPACT, False),
    Figure("avg_response_hours", _("Average response time"), HOURS, IMPACT, False),
    Figure("median_response_hours", _("Median response time"), HOURS, IMPACT, False),
    Figure("response_within_target_share", _("Answered within target"), RATE, IMPACT),
    # Like phone calls: the portal's aim is fewer of them, though a call is a real answer.
    Figure("responses_by_phone", _("Answered by phone"), COUNT, IMPACT, False),
    Figure(
        "after_hours_avg_response_hours", _("Evening/weekend response time"), HOURS, IMPACT, False
    ),
    Figure(
        "after_hours_median_response_hours",
        _("Evening/weekend median response time"),
        HOURS,
        IMPACT,
        False,
    ),
    # architecture.md lists the keys in this order; the figure belongs with the bookings.
    Figure("annual_exam_self_scheduled_share", _("Annual exams self-scheduled"), RATE, ENGAGEMENT),
    Figure("satisfaction", _("Patient satisfaction"), SCORE, IMPACT),
]
FIGURE_KEYS = [figure.key for figure in FIGURES]
BY_KEY = {figure.key: figure for figure in FIGURES}

# metrics.md, "Month-over-month and targets": published industry benchmarks.
DEFAULT_TARGETS = {
    "enrollment_rate": Decimal("0.70"),
    "active_user_rate": Decimal("0.50"),
    "app_install_rate": Decimal("0.50"),
    "self_scheduled_share": Decimal("0.30"),
    "annual_exam_self_scheduled_share": Decimal("0.30"),
    "same_day_view_share": Decimal("0.85"),
    "avg_response_hours": Decimal("8"),
    "after_hours_avg_response_hours": Decimal("16"),
    "satisfaction": Decimal("4.5"),
}

# One concrete action from the playbook per figure that can have a target.
ACTIONS = {
    "enrollment_rate": _(
        "Offer the portal to every patient at check-in with the two-minute checklist; "
        "use the QR code when the desk is busy."
    ),
    "active_user_rate": _(
        "Call the follow-up list: patients invited a week ago who never logged in."
    ),
    "app_install_rate": _(
        "Help patients install the app during enrollment; send the app link to enrolled "
        "patients without it."
    ),
    "self_scheduled_share": _(
        "Show patients at check-out how to book their next visit in the portal or the app, "
        "and put the booking link in appointment reminders."
    ),
    "annual_exam_self_scheduled_share": _(
        "Promote self-scheduling of annual exams: mention it at check-out and in the "
        "feature-of-the-month message."
    ),
    "same_day_view_share": _(
        "Release results to the portal promptly and notify patients by their preferred channel."
    ),
    "avg_response_hours": _(
        "Work the message queue at the day's three checkpoints (morning, noon, end of day) "
        "and use reply templates for common questions."
    ),
    "after_hours_avg_response_hours": _(
        "Improve evening and weekend message response: work the overnight messages first "
        "at the morning checkpoint and use reply templates."
    ),
    "satisfaction": _(
        "Read the survey comments with the team each month and fix the most common complaint."
    ),
}
