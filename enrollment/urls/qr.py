"""QR self-enrollment, the clerk's side (front desk, managers, administrators)."""

from django.urls import path

from enrollment.views import qr

urlpatterns = [
    path("enrollments/<int:pk>/qr/", qr.QrCreateView.as_view(), name="qr_create"),
    path("qr/<uuid:pk>/status/", qr.QrStatusView.as_view(), name="qr_status"),
]
