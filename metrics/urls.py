from django.urls import path

from metrics import forecast_views, views

app_name = "metrics"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("chart/<str:figure>.svg", views.ChartView.as_view(), name="chart"),
    path("export.csv", views.ExportCsvView.as_view(), name="export_csv"),
    path("report.pdf", views.ExportPdfView.as_view(), name="export_pdf"),
    path("targets/", views.TargetsView.as_view(), name="targets"),
    path("definitions/", views.DefinitionsView.as_view(), name="definitions"),
    path("forecast/", forecast_views.ForecastView.as_view(), name="forecast"),
]
