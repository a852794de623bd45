"""Declines at check-in, the printable handouts, and managers' tech-help and incentives.

Included under the "enrollment" namespace at /enrollment/.
"""

from django.urls import path

from enrollment.views import declines, manage

urlpatterns = [
    # Front desk (ENROLL_PATIENTS)
    path(
        "patients/<int:pk>/decline/",
        declines.DeclineView.as_view(),
        name="decline",
    ),
    path(
        "patients/<int:pk>/decline/remedy/",
        declines.DeclineRemedyView.as_view(),
        name="decline_remedy",
    ),
    path(
        "patients/<int:pk>/reference-card/",
        declines.ReferenceCardView.as_view(),
        name="reference_card",
    ),
    path(
        "handouts/privacy/",
        declines.PrivacyHandoutView.as_view(),
        name="privacy_handout",
    ),
    # Managers (MANAGE_ENROLLMENT)
    path("tech-help/", manage.TechHelpView.as_view(), name="tech_help"),
    path(
        "tech-help/<int:pk>/",
        manage.TechHelpDetailView.as_view(),
        name="tech_help_detail",
    ),
    path("incentives/", manage.IncentiveListView.as_view(), name="incentives"),
    path(
        "incentives/<int:pk>/toggle/",
        manage.IncentiveToggleView.as_view(),
        name="incentive_toggle",
    ),
]
