from django.urls import path

from metrics import views
from metrics.electronic_access import views as electronic_access_views
from metrics.equity import views as equity_views
from metrics.forecast import views as forecast_views
from metrics.funnel import views as funnel_views

app_name = "metrics"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("chart/<str:figure>.svg", views.ChartView.as_view(), name="chart"),
    path("export.csv", views.ExportCsvView.as_view(), name="export_csv"),
    path("report.pdf", views.ExportPdfView.as_view(), name="export_pdf"),
    path("targets/", views.TargetsView.as_view(), name="targets"),
    path("definitions/", views.DefinitionsView.as_view(), name="definitions"),
    path(
        "electronic-access/",
        electronic_access_views.ElectronicAccessView.as_view(),
        name="electronic_access",
    ),
    path(
        "electronic-access/not-counted.csv",
        electronic_access_views.ElectronicAccessCsvView.as_view(),
        name="electronic_access_csv",
    ),
    path("equity/", equity_views.EquityGapsView.as_view(), name="equity"),
    path("forecast/", forecast_views.ForecastView.as_view(), name="forecast"),
    path("funnel/", funnel_views.FunnelView.as_view(), name="funnel"),
]
