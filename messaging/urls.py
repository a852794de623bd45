from django.urls import include, path

app_name = "messaging"

urlpatterns = [
    path("settings/", include("messaging.manage_urls")),
]
