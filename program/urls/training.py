from django.urls import path

from program.views import training as views

urlpatterns = [
    path("", views.TrainingView.as_view(), name="training"),
    path("modules/<int:pk>/done/", views.TrainingDoneView.as_view(), name="training_done"),
    path("sessions/", views.TrainingSessionView.as_view(), name="training_session"),
    path(
        "completions/<int:pk>/undo/",
        views.CompletionUndoView.as_view(),
        name="training_completion_undo",
    ),
    path("modules/new/", views.ModuleNewView.as_view(), name="training_module_new"),
    path("modules/<int:pk>/", views.ModuleEditView.as_view(), name="training_module_edit"),
    path(
        "modules/<int:pk>/active/",
        views.ModuleActiveView.as_view(),
        name="training_module_active",
    ),
]
