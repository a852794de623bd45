from django.urls import include, path

from enrollment.views import checkin as views

app_name = "enrollment"

urlpatterns = [
    path("", views.CheckinView.as_view(), name="checkin"),
    path("search/", views.CheckinSearchView.as_view(), name="search"),
    path("patients/<int:pk>/", views.PatientPanelView.as_view(), name="patient"),
    path("patients/<int:pk>/enroll/", views.EnrollmentStartView.as_view(), name="start"),
    path("enrollments/<int:pk>/", views.ChecklistView.as_view(), name="checklist"),
    path("enrollments/<int:pk>/tick/", views.StepTickView.as_view(), name="tick"),
    path("enrollments/<int:pk>/contact/", views.ContactStepView.as_view(), name="contact"),
    path("enrollments/<int:pk>/feature/", views.FeatureStepView.as_view(), name="feature"),
    path("enrollments/<int:pk>/incentive/", views.IncentiveView.as_view(), name="incentive"),
    path("enrollments/<int:pk>/complete/", views.CompleteView.as_view(), name="complete"),
    path("enrollments/<int:pk>/stop/", views.AbandonView.as_view(), name="abandon"),
    path("enrollments/<int:pk>/done/", views.CompletedView.as_view(), name="completed"),
    path("follow-up/", views.FollowUpListView.as_view(), name="follow_up"),
    path("follow-up/<int:pk>/call/", views.FollowUpCallView.as_view(), name="follow_up_call"),
    path("", include("enrollment.urls.qr")),
    path("", include("enrollment.urls.declines")),
    path("", include("enrollment.urls.reports")),
    path("", include("enrollment.urls.scripts")),
]
