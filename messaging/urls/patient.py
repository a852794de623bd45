"""Pages patients open from a message (no staff login), mounted at the site root."""

from django.urls import path

from messaging.views import outreach as outreach_views

app_name = "outreach"

urlpatterns = [
    path("survey/<str:token>/", outreach_views.SurveyView.as_view(), name="survey"),
    path("unsubscribe/<str:token>/", outreach_views.UnsubscribeView.as_view(), name="unsubscribe"),
    path("hooks/sms/", outreach_views.SmsInboundView.as_view(), name="sms_inbound"),
]
