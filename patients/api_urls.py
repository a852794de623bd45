from django.urls import path

from patients import api

urlpatterns = [
    path("patients/<int:pk>/", api.PatientDetailApi.as_view(), name="api_patient_detail"),
]
