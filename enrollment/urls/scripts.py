"""Scripts for every role: the visit fragment, the phone page, the managers' wording.

Included under the "enrollment" namespace at /enrollment/.
"""

from django.urls import path

from enrollment.views import scripts

urlpatterns = [
    # Nurses and providers (USE_VISIT_SCRIPT), loaded by the patient page
    path(
        "patients/<int:pk>/visit-script/",
        scripts.VisitScriptView.as_view(),
        name="visit_script",
    ),
    path(
        "patients/<int:pk>/visit-script/mentioned/",
        scripts.VisitMentionView.as_view(),
        name="visit_mentioned",
    ),
    # Front desk and nurses (USE_PHONE_SCRIPTS)
    path("phone/", scripts.PhoneCallView.as_view(), name="phone"),
    path("phone/search/", scripts.PhoneSearchView.as_view(), name="phone_search"),
    path(
        "phone/patients/<int:pk>/",
        scripts.PhonePatientView.as_view(),
        name="phone_patient",
    ),
    path(
        "phone/patients/<int:pk>/outcome/",
        scripts.PhoneOutcomeView.as_view(),
        name="phone_outcome",
    ),
    # Managers (MANAGE_ENROLLMENT)
    path("scripts/", scripts.ScriptListView.as_view(), name="scripts"),
    path("scripts/<int:pk>/", scripts.ScriptEditView.as_view(), name="script_edit"),
    path(
        "scripts/<int:pk>/restore/",
        scripts.ScriptRestoreView.as_view(),
        name="script_restore",
    ),
]
