"""Managers' settings for the triage queue, under /messages/settings/ ("messaging:" names)."""

from django.urls import path

from messaging.views import manage as views

urlpatterns = [
    # The settings' own address, for the navigation bar: every page below starts with it.
    path("", views.SettingsIndexView.as_view(), name="settings"),
    path("rules/", views.RulesView.as_view(), name="rules"),
    path("rules/<int:pk>/delete/", views.RuleDeleteView.as_view(), name="rule_delete"),
    path("rules/default/", views.RuleDefaultView.as_view(), name="rule_default"),
    path("rules/test/", views.RuleTestView.as_view(), name="rule_test"),
    path("red-flags/", views.RedFlagsView.as_view(), name="red_flags"),
    path("red-flags/<int:pk>/delete/", views.RedFlagDeleteView.as_view(), name="red_flag_delete"),
    path("templates/", views.TemplatesView.as_view(), name="templates"),
    path("templates/new/", views.TemplateFormView.as_view(), name="template_new"),
    path("templates/<int:pk>/", views.TemplateFormView.as_view(), name="template_edit"),
    path("templates/<int:pk>/toggle/", views.TemplateToggleView.as_view(), name="template_toggle"),
    path("hours/", views.HoursView.as_view(), name="hours"),
    path("hours/closures/", views.ClosureAddView.as_view(), name="closure_add"),
    path(
        "hours/closures/<int:pk>/delete/", views.ClosureDeleteView.as_view(), name="closure_delete"
    ),
]
