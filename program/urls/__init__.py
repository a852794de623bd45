from django.urls import include, path

app_name = "program"

urlpatterns = [
    path("", include("program.urls.plan")),
    path("training/", include("program.urls.training")),
    path("recognition/", include("program.urls.recognition")),
]
