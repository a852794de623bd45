from django.urls import include, path

app_name = "enrollment"

urlpatterns = [
    path("", include("enrollment.qr_urls")),
    path("", include("enrollment.decline_urls")),
]
