"""The gaps the audit found around the access log, closed.

Reading the log in the admin site is logged like reading it on its page; a
form refused for its CSRF token is a refusal like any other; and nothing a
manager or a link puts in the access log's filters gives a 500.
"""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from portal_adoption.access_chain import chain_append
from portal_adoption.models import AccessAction, AccessLogEntry, AccessOutcome
from portal_adoption.services import access_log_record
from tests.factories import PatientFactory


def logged(**fields) -> AccessLogEntry:
    defaults = {"action": AccessAction.VIEW, "outcome": AccessOutcome.ALLOWED}
    (entry,) = chain_append([AccessLogEntry(**({"resource": "patient"} | defaults | fields))])
    return entry


def rows_written_by(user):
    return AccessLogEntry.objects.filter(user=user).order_by("chain_position")


def test_an_administrator_listing_the_log_in_the_admin_is_logged(client, administrator, nurse):
    rosa, tom = PatientFactory.create_batch(2)
    logged(user=nurse, username="nora", patient=rosa)
    logged(user=nurse, username="nora", patient=tom)
    client.force_login(administrator)

    response = client.get(reverse("admin:portal_adoption_accesslogentry_changelist"))

    assert response.status_code == 200
    rows = rows_written_by(administrator)
    (row,) = rows
    assert (row.action, row.resource) == ("list", "access_log")
    assert set(row.listed_patients.values_list("patient", flat=True)) == {rosa.pk, tom.pk}


def test_an_administrator_opening_one_entry_in_the_admin_is_logged(client, administrator, nurse):
    rosa = PatientFactory()
    entry = logged(user=nurse, username="nora", patient=rosa)
    client.force_login(administrator)

    url = reverse("admin:portal_adoption_accesslogentry_change", args=[entry.pk])
    assert client.get(url).status_code == 200

    (row,) = rows_written_by(administrator)
    assert (row.action, row.resource, row.object_id, row.patient) == (
        "view",
        "access_log",
        str(entry.pk),
        rosa,
    )


def test_a_form_refused_for_its_csrf_token_is_logged_and_shows_the_403_page(manager):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(manager)

    response = browser.post(reverse("access_log"), {"patient_mrn": "MRN-1"})

    assert response.status_code == 403
    assert "registration/403.html" not in [t.name for t in response.templates]
    assert "403.html" in [t.name for t in response.templates]
    assert "This form could not be accepted" in response.content.decode()
    (row,) = rows_written_by(manager)
    assert (row.outcome, row.resource, row.method, row.path) == (
        "denied",
        "access_log",
        "POST",
        "/access-log/",
    )


def test_a_sign_in_refused_for_its_csrf_token_is_logged_without_a_user(db):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(reverse("login"), {"username": "nora", "password": "x"})
    assert response.status_code == 403
    row = AccessLogEntry.objects.get()
    assert (row.user, row.outcome, row.resource) == (None, "denied", "login")


def test_a_far_future_end_date_in_a_link_is_a_400_that_names_the_field(client, manager):
    client.force_login(manager)
    response = client.get(reverse("access_log"), {"date_to": "9999-12-31"})
    assert response.status_code == 400
    assert "To must be between 1900-01-01 and 2199-12-31" in response.content.decode()


def test_a_far_future_end_date_typed_in_the_filter_is_refused(client, manager):
    client.force_login(manager)
    response = client.post(reverse("access_log"), {"date_to": "9999-12-31"})
    assert response.status_code == 400
    assert "To must be between 1900-01-01 and 2199-12-31" in response.content.decode()


def test_a_page_of_filter_errors_still_logs_the_patients_it_shows(client, manager, nurse):
    rosa = PatientFactory()
    logged(user=nurse, username="nora", patient=rosa)
    client.force_login(manager)

    response = client.post(reverse("access_log"), {"date_to": "9999-12-31"})

    assert response.status_code == 400
    assert [(r.action, r.patient) for r in rows_written_by(manager)] == [("list", rosa)]


HOSTILE_VALUES = [
    "%00",
    "a%00b",
    "%ED%A0%80",  # a lone surrogate, UTF-8 encoded
    "%C2%B2",  # superscript two: a digit to str.isdigit, not to int()
    "9" * 40,
    "-1",
    "0",
    "9223372036854775808",
    "0001-01-01",
    "9999-12-31",
    "2026-02-30",
    "%27%20OR%201%3D1--",
]
QUERY_PARAMETERS = ["user", "patient", "date_from", "date_to", "page"]


@pytest.mark.parametrize("parameter", QUERY_PARAMETERS)
def test_hostile_values_in_every_access_log_parameter_never_give_a_500(
    client, manager, nurse, parameter
):
    logged(user=nurse, username="nora", patient=PatientFactory())
    client.force_login(manager)
    statuses = {
        value: client.get(f"{reverse('access_log')}?{parameter}={value}").status_code
        for value in HOSTILE_VALUES
    }
    assert {value: s for value, s in statuses.items() if s not in (200, 400)} == {}


@pytest.mark.parametrize("field", ["user", "patient_mrn", "date_from", "date_to"])
def test_hostile_values_in_every_filter_field_never_give_a_500(client, manager, field):
    client.force_login(manager)
    statuses = {}
    for value in ["\x00", "a\x00b", "²", "9" * 40, "9223372036854775808", "9999-12-31", "-1"]:
        statuses[value] = client.post(reverse("access_log"), {field: value}).status_code
    assert {value: s for value, s in statuses.items() if s not in (302, 400)} == {}


def test_a_nul_byte_in_the_path_is_logged_not_a_500(nurse):
    request = RequestFactory().get("/patients/%00x/")
    request.user = nurse
    entry = access_log_record(request=request, action="view", resource="patient", object_id="\x00")
    entry.refresh_from_db()
    assert (entry.path, entry.object_id) == ("/patients/\\x00x/", "\\x00")


def test_the_admins_access_log_filter_names_what_was_read_in_words(client, administrator, nurse):
    rosa = PatientFactory()
    logged(user=nurse, username="nora", patient=rosa)
    logged(resource="staff_role_added:nurse", username="admin", patient=None)
    client.force_login(administrator)
    url = reverse("admin:portal_adoption_accesslogentry_changelist")

    page = client.get(url).content.decode()
    only_roles = client.get(url, {"resource": "staff_role_added"})

    assert "Role added" in page and ">staff_role_added<" not in page
    assert [e.resource for e in only_roles.context["cl"].result_list] == ["staff_role_added:nurse"]
