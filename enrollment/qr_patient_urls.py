"""QR self-enrollment, the patient's side: opened from the code, without a staff login."""

from django.urls import path

from enrollment import qr_views

app_name = "qr_patient"

urlpatterns = [
    path("<str:token>/", qr_views.QrPatientStartView.as_view(), name="start"),
]
