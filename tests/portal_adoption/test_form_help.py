"""Help texts say what the widget shows: a date picker shows the browser's own format
(mm/dd/yyyy in the US), so its help never asks for YYYY-MM-DD."""

import importlib
import pkgutil

from django import forms
from django.urls import reverse

APPS = ["patients", "enrollment", "messaging", "metrics", "portal_adoption", "program"]


def every_form_class() -> set[type[forms.BaseForm]]:
    for app in APPS:
        package = importlib.import_module(app)
        for module in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".migrations" in module.name or ".management" in module.name:
                continue
            importlib.import_module(module.name)
    found, todo = set(), [forms.Form, forms.ModelForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return {form for form in found if form.__module__.split(".")[0] in APPS}


def test_no_date_picker_asks_for_a_typed_date_format(db):
    forms_found = every_form_class()
    assert len(forms_found) > 20
    wrong = [
        f"{form.__module__}.{form.__name__}.{name}: {field.help_text}"
        for form in forms_found
        for name, field in form.base_fields.items()
        if field.widget.attrs.get("type", getattr(field.widget, "input_type", ""))
        in ("date", "month")
        and "YYYY" in str(field.help_text).upper()
    ]
    assert wrong == []


def test_the_reply_template_help_writes_the_practice_phone_without_doubled_brackets(
    client, manager
):
    client.force_login(manager)
    html = client.get(reverse("messaging:template_new")).content.decode()
    assert "((" not in html
    assert "(555) 010-0100" in html
