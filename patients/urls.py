from django.urls import path

from patients import import_views, views

app_name = "patients"

urlpatterns = [
    path("", views.PatientListView.as_view(), name="list"),
    path("<int:pk>/", views.PatientDetailView.as_view(), name="detail"),
    path("imports/", import_views.ImportUploadView.as_view(), name="imports"),
    path("imports/<int:pk>/", import_views.ImportDetailView.as_view(), name="import_detail"),
    path(
        "imports/<int:pk>/progress/",
        import_views.ImportProgressView.as_view(),
        name="import_progress",
    ),
    path(
        "imports/<int:pk>/rejected.csv",
        import_views.ImportRejectionsCsvView.as_view(),
        name="import_rejections_csv",
    ),
]
