"""QR self-enrollment, the clerk's side (front desk, managers, administrators)."""

from django.urls import path

from enrollment import qr_views

urlpatterns = [
    path("enrollments/<int:pk>/qr/", qr_views.QrCreateView.as_view(), name="qr_create"),
    path("qr/<uuid:pk>/status/", qr_views.QrStatusView.as_view(), name="qr_status"),
]
