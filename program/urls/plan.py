from django.urls import path

from program.views import plan as views

urlpatterns = [
    path("", views.PlanView.as_view(), name="plan"),
    path("start/", views.PlanStartView.as_view(), name="plan_start"),
    path("tasks/add/", views.TaskAddView.as_view(), name="task_add"),
    path("tasks/<int:pk>/tick/", views.TaskTickView.as_view(), name="task_tick"),
    path("tasks/<int:pk>/untick/", views.TaskUntickView.as_view(), name="task_untick"),
    path("tasks/<int:pk>/move/", views.TaskMoveView.as_view(), name="task_move"),
    path("tasks/<int:pk>/drop/", views.TaskDropView.as_view(), name="task_drop"),
    path("tasks/<int:pk>/restore/", views.TaskRestoreView.as_view(), name="task_restore"),
]
