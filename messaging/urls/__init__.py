from django.urls import include, path

from messaging.views import feedback as feedback_views
from messaging.views import outreach as outreach_views
from messaging.views import queues as views

app_name = "messaging"

urlpatterns = [
    path("", views.QueuesView.as_view(), name="queues"),
    path("queue/<str:queue>/", views.QueueView.as_view(), name="queue"),
    path("queue/<str:queue>/take/", views.TakeNextView.as_view(), name="take_next"),
    path(
        "queue/<str:queue>/checkpoint/<str:checkpoint>/",
        views.CheckpointView.as_view(),
        name="checkpoint",
    ),
    path("tasks/", views.ProviderTasksView.as_view(), name="tasks"),
    path("urgent/", views.UrgentAlertView.as_view(), name="urgent_alert"),
    path("notes/", views.NotesToFileView.as_view(), name="notes"),
    path("<int:pk>/", views.MessageDetailView.as_view(), name="detail"),
    path("<int:pk>/reply/", views.ReplyView.as_view(), name="reply"),
    path("<int:pk>/call/", views.CallView.as_view(), name="call"),
    path("<int:pk>/escalate/", views.EscalateView.as_view(), name="escalate"),
    path("<int:pk>/reroute/", views.RerouteView.as_view(), name="reroute"),
    path("<int:pk>/reclassify/", views.ReclassifyView.as_view(), name="reclassify"),
    path("<int:pk>/care-related/", views.CareRelatedView.as_view(), name="care_related"),
    path("<int:pk>/close/", views.CloseView.as_view(), name="close"),
    path("<int:pk>/phone/", views.PhonePreferenceView.as_view(), name="phone_preference"),
    path("outreach/", outreach_views.OutreachOverviewView.as_view(), name="outreach"),
    path(
        "outreach/count-again/",
        outreach_views.OutreachPreviewRecountView.as_view(),
        name="outreach_recount",
    ),
    path(
        "outreach/settings/",
        outreach_views.OutreachSettingsView.as_view(),
        name="outreach_settings",
    ),
    path(
        "patients/<int:pk>/communications/",
        outreach_views.PatientCommunicationsView.as_view(),
        name="patient_communications",
    ),
    path("feedback/", feedback_views.FeedbackView.as_view(), name="feedback"),
    path(
        "feedback/publish/", feedback_views.FeedbackPublishView.as_view(), name="feedback_publish"
    ),
    path("feedback/<int:pk>/tags/", feedback_views.CommentTagView.as_view(), name="feedback_tag"),
    path("settings/", include("messaging.urls.manage")),
    path("", include("messaging.urls.reports")),
]
