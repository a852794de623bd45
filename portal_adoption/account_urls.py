"""The staff member's own account (the user menu): language, password and two-step sign-in.

Names are Django's own for the password views, so its views find each other.
"""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from portal_adoption import account_views

urlpatterns = [
    path("language/", account_views.StaffLanguageView.as_view(), name="account_language"),
    path("password/", account_views.StaffPasswordChangeView.as_view(), name="password_change"),
    path("password/reset/", account_views.StaffPasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        account_views.StaffPasswordResetConfirmView.as_view(
            success_url=reverse_lazy("password_reset_complete")
        ),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("two-step/", account_views.TwoFactorView.as_view(), name="two_factor"),
    path("two-step/set-up/", account_views.TwoFactorSetupView.as_view(), name="two_factor_setup"),
    path("two-step/verify/", account_views.TwoFactorVerifyView.as_view(), name="two_factor_verify"),
    path(
        "two-step/recovery-codes/",
        account_views.TwoFactorRecoveryCodesView.as_view(),
        name="two_factor_recovery_codes",
    ),
    path("two-step/turn-off/", account_views.TwoFactorOffView.as_view(), name="two_factor_off"),
]
