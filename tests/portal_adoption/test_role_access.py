"""Who may open which page: the whole matrix, for every URL the application has."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from portal_adoption.models import AccessLogEntry, AccessOutcome
from portal_adoption.roles import Role

EVERYONE = set(Role)
PATIENT_READERS = {
    Role.FRONT_DESK,
    Role.NURSE,
    Role.PROVIDER,
    Role.MANAGER,
    Role.ADMINISTRATOR,
}
MANAGERS = {Role.MANAGER, Role.ADMINISTRATOR}
ADMINISTRATORS = {Role.ADMINISTRATOR}

IMPORTERS = MANAGERS

# url name -> (what its pk names, roles that may use it, everyone else gets 403)
PAGES = {
    "home": (None, EVERYONE),
    "patients:list": (None, PATIENT_READERS),
    "patients:detail": ("patient", PATIENT_READERS),
    "patients:imports": (None, IMPORTERS),
    "patients:import_detail": ("import", IMPORTERS),
    "patients:import_rejections_csv": ("import", IMPORTERS),
    "access_log": (None, MANAGERS),
    "admin:index": (None, ADMINISTRATORS),
    "api_patient_detail": ("patient", PATIENT_READERS),
    "api_patients_bulk": (None, IMPORTERS),
    "api_events_bulk": (None, IMPORTERS),
    "api_fhir_bundle": (None, IMPORTERS),
    "api_schema": (None, EVERYONE),
    "api_docs": (None, EVERYONE),
}
# Endpoints that only take POST: an allowed caller posting nothing gets 400.
POST_ONLY = {"api_patients_bulk", "api_events_bulk", "api_fhir_bundle"}
# Pages outside the matrix, each for a stated reason.
NOT_ROLE_PAGES = {
    "login": "the sign-in form is for everyone",
    "logout": "signing out is for everyone",
}


def all_url_names(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from all_url_names(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}"


def url_for(name, patient):
    names, _allowed = PAGES[name]
    if names is None:
        return reverse(name)
    target = patient if names == "patient" else import_run()
    return reverse(name, kwargs={"pk": target.pk})


def import_run():
    from patients.models import ImportRun

    return ImportRun.objects.create(kind="patients", source="feed_csv")


def open_as(client, name, patient):
    url = url_for(name, patient)
    if name in POST_ONLY:
        return client.post(url, {}, content_type="application/json")
    return client.get(url)


def test_every_url_of_the_application_is_in_the_access_matrix():
    names = {n for n in all_url_names() if not n.startswith("admin:")}
    missing = names - set(PAGES) - set(NOT_ROLE_PAGES)
    assert not missing, f"add these URLs to the role matrix: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(PAGES))
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_role_opens_exactly_the_pages_it_needs(client, personas, patient, name, role):
    client.force_login(personas[role])
    _names, allowed = PAGES[name]
    response = open_as(client, name, patient)
    if role not in allowed:
        assert response.status_code == 403
    else:
        assert response.status_code == (400 if name in POST_ONLY else 200)


@pytest.mark.parametrize("name", sorted(n for n in PAGES if not n.startswith("api")))
def test_a_visitor_who_is_not_signed_in_is_sent_to_the_sign_in_page(client, patient, name):
    response = client.get(url_for(name, patient), follow=True)
    final_url, _status = response.redirect_chain[-1]
    assert final_url.startswith(reverse("login"))
    assert response.templates[0].name == "registration/login.html"


@pytest.mark.parametrize("name", sorted(n for n in PAGES if n.startswith("api")))
def test_the_api_refuses_a_caller_who_is_not_signed_in(client, patient, name):
    response = open_as(client, name, patient)
    assert response.status_code in (401, 403)


def test_billing_opening_a_patient_record_gets_403_and_a_denied_row(client, billing_clerk, patient):
    client.force_login(billing_clerk)
    response = client.get(reverse("patients:detail", kwargs={"pk": patient.pk}))
    assert response.status_code == 403
    assert b"not available to your role" in response.content
    denied = AccessLogEntry.objects.get(outcome=AccessOutcome.DENIED)
    assert denied.user == billing_clerk
    assert denied.resource == "patients:detail"
    assert denied.object_id == str(patient.pk)


def test_an_anonymous_api_call_is_logged_as_denied(client, patient):
    client.get(reverse("api_patient_detail", kwargs={"pk": patient.pk}))
    denied = AccessLogEntry.objects.get(outcome=AccessOutcome.DENIED)
    assert denied.user is None
    assert denied.resource == "api_patient_detail"


def test_a_user_without_any_role_sees_only_the_home_page(client, patient):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="newhire"))
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("patients:list")).status_code == 403


def test_the_menu_shows_each_role_only_its_areas(client, personas):
    client.force_login(personas[Role.BILLING])
    billing_page = client.get(reverse("home")).content.decode()
    client.force_login(personas[Role.MANAGER])
    manager_page = client.get(reverse("home")).content.decode()
    assert reverse("access_log") not in billing_page
    assert reverse("patients:list") not in billing_page
    assert reverse("access_log") in manager_page
    assert reverse("admin:index") not in manager_page
