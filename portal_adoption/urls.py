from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal_adoption import account_urls, account_views, views
from portal_adoption.middleware import second_factor_not_required

handler403 = "portal_adoption.views.permission_denied"

api_v1 = [
    path("", include("patients.api_urls")),
    path("", include("messaging.urls.api")),
    path("", include("metrics.api_urls")),
]

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("login/", account_views.StaffLoginView.as_view(), name="login"),
    path("logout/", second_factor_not_required(auth_views.LogoutView.as_view()), name="logout"),
    path("account/", include(account_urls)),
    path("access-log/", views.AccessLogView.as_view(), name="access_log"),
    path("patients/", include("patients.urls")),
    path("enrollment/", include("enrollment.urls")),
    path("messages/", include("messaging.urls")),
    path("dashboard/", include("metrics.urls")),
    path("program/", include("program.urls")),
    # The patient's own phone opens this, from the QR code at the desk: no staff login.
    path("enroll/", include("enrollment.urls.qr_patient")),
    path("", include("messaging.urls.patient")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"), name="api_docs"),
]
