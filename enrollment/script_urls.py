"""Scripts for every role: the visit fragment, the phone page, the managers' wording.

Included under the "enrollment" namespace at /enrollment/.
"""

from django.urls import path

from enrollment import script_views

urlpatterns = [
    # Nurses and providers (USE_VISIT_SCRIPT), loaded by the patient page
    path(
        "patients/<int:pk>/visit-script/",
        script_views.VisitScriptView.as_view(),
        name="visit_script",
    ),
    path(
        "patients/<int:pk>/visit-script/mentioned/",
        script_views.VisitMentionView.as_view(),
        name="visit_mentioned",
    ),
    # Front desk and nurses (USE_PHONE_SCRIPTS)
    path("phone/", script_views.PhoneCallView.as_view(), name="phone"),
    path("phone/search/", script_views.PhoneSearchView.as_view(), name="phone_search"),
    path(
        "phone/patients/<int:pk>/",
        script_views.PhonePatientView.as_view(),
        name="phone_patient",
    ),
    path(
        "phone/patients/<int:pk>/outcome/",
        script_views.PhoneOutcomeView.as_view(),
        name="phone_outcome",
    ),
    # Managers (MANAGE_ENROLLMENT)
    path("scripts/", script_views.ScriptListView.as_view(), name="scripts"),
    path("scripts/<int:pk>/", script_views.ScriptEditView.as_view(), name="script_edit"),
    path(
        "scripts/<int:pk>/restore/",
        script_views.ScriptRestoreView.as_view(),
        name="script_restore",
    ),
]
