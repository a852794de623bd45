"""QR self-enrollment, the patient's side: opened from the code, without a staff login."""

from django.urls import path

from enrollment.views import qr

app_name = "qr_patient"

urlpatterns = [
    path("<str:token>/", qr.QrPatientStartView.as_view(), name="start"),
]
