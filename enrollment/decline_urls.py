"""Declines at check-in, the printable handouts, and managers' tech-help and incentives.

Included under the "enrollment" namespace at /enrollment/.
"""

from django.urls import path

from enrollment import decline_views, manage_views

urlpatterns = [
    # Front desk (ENROLL_PATIENTS)
    path(
        "patients/<int:pk>/decline/",
        decline_views.DeclineView.as_view(),
        name="decline",
    ),
    path(
        "patients/<int:pk>/decline/remedy/",
        decline_views.DeclineRemedyView.as_view(),
        name="decline_remedy",
    ),
    path(
        "patients/<int:pk>/reference-card/",
        decline_views.ReferenceCardView.as_view(),
        name="reference_card",
    ),
    path(
        "handouts/privacy/",
        decline_views.PrivacyHandoutView.as_view(),
        name="privacy_handout",
    ),
    # Managers (MANAGE_ENROLLMENT)
    path("tech-help/", manage_views.TechHelpView.as_view(), name="tech_help"),
    path(
        "tech-help/<int:pk>/",
        manage_views.TechHelpDetailView.as_view(),
        name="tech_help_detail",
    ),
    path("incentives/", manage_views.IncentiveListView.as_view(), name="incentives"),
    path(
        "incentives/<int:pk>/toggle/",
        manage_views.IncentiveToggleView.as_view(),
        name="incentive_toggle",
    ),
]
