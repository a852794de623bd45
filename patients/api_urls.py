from django.urls import path

from patients import api, fhir_api

urlpatterns = [
    path("patients/<int:pk>/", api.PatientDetailApi.as_view(), name="api_patient_detail"),
    path("patients/bulk/", api.PatientsBulkApi.as_view(), name="api_patients_bulk"),
    path("events/bulk/", api.EventsBulkApi.as_view(), name="api_events_bulk"),
    path("fhir/Bundle", fhir_api.FhirBundleApi.as_view(), name="api_fhir_bundle"),
]
