"""Ada, the administrator, gives roles and nothing else; every change is in the access log.

Superusers are made with `manage.py createsuperuser`, never through a form, and
an administrator cannot touch a superuser's account.
"""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from portal_adoption.models import AccessAction, AccessLogEntry, User
from portal_adoption.roles import GROUP_NAMES, Role
from portal_adoption.selectors import user_role_groups
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


def change_url(account):
    return reverse("admin:portal_adoption_user_change", args=[account.pk])


def form_data(account, **overrides):
    data = {
        "username": account.username,
        "first_name": account.first_name,
        "last_name": account.last_name,
        "email": account.email,
        "location": account.location_id or "",
        "is_active": "on" if account.is_active else "",
        "roles": [role.value for role in user_role_groups(account)],
        "_save": "Save",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value != ""}


def changes_to(account) -> list[str]:
    rows = AccessLogEntry.objects.filter(action=AccessAction.CHANGE, object_id=str(account.pk))
    return sorted(rows.values_list("resource", flat=True))


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", "root@example.org", PASSWORD)


def test_the_staff_form_offers_roles_and_no_permission_flags(client, administrator, nurse):
    client.force_login(administrator)
    html = client.get(change_url(nurse)).content.decode()
    assert 'name="roles"' in html
    for flag in ("is_superuser", "is_staff", "user_permissions", "groups"):
        assert f'name="{flag}"' not in html, flag


def test_an_administrator_cannot_make_herself_superuser(client, administrator):
    client.force_login(administrator)
    permission = Permission.objects.get(codename="delete_accesslogentry")
    response = client.post(
        change_url(administrator),
        form_data(
            administrator,
            is_superuser="on",
            is_staff="on",
            user_permissions=[permission.pk],
            groups=[Group.objects.get(name=GROUP_NAMES[Role.MANAGER]).pk],
        ),
    )
    assert response.status_code == 302
    administrator.refresh_from_db()
    assert not administrator.is_superuser
    assert not administrator.user_permissions.exists()
    assert user_role_groups(administrator) == [Role.ADMINISTRATOR]
    assert not administrator.has_perm("portal_adoption.delete_accesslogentry")


def test_is_staff_follows_the_administrator_role_not_the_form(client, administrator, nurse):
    client.force_login(administrator)
    client.post(change_url(nurse), form_data(nurse, is_staff="on"))
    nurse.refresh_from_db()
    assert not nurse.is_staff
    client.post(change_url(nurse), form_data(nurse, roles=["nurse", "administrator"]))
    nurse.refresh_from_db()
    assert nurse.is_staff
    client.post(change_url(nurse), form_data(nurse, roles=["nurse"]))
    nurse.refresh_from_db()
    assert not nurse.is_staff


def test_giving_and_taking_roles_is_logged_naming_the_account(client, administrator, nurse):
    client.force_login(administrator)
    client.post(change_url(nurse), form_data(nurse, roles=["manager"]))
    assert user_role_groups(nurse) == [Role.MANAGER]
    assert changes_to(nurse) == ["staff_role_added:manager", "staff_role_removed:nurse"]
    row = AccessLogEntry.objects.filter(object_id=str(nurse.pk)).first()
    assert row.user == administrator
    assert row.action == AccessAction.CHANGE


def test_deactivating_an_account_is_logged(client, administrator, nurse):
    client.force_login(administrator)
    client.post(change_url(nurse), form_data(nurse, is_active=""))
    nurse.refresh_from_db()
    assert not nurse.is_active
    assert changes_to(nurse) == ["staff_deactivated"]
    client.post(change_url(nurse), form_data(nurse, is_active="on"))
    assert changes_to(nurse) == ["staff_activated", "staff_deactivated"]


def test_changing_a_name_is_logged_without_the_new_value(client, administrator, nurse):
    client.force_login(administrator)
    client.post(change_url(nurse), form_data(nurse, last_name="Okafor"))
    assert changes_to(nurse) == ["staff_details:last_name"]


def test_a_new_account_gets_its_roles_and_a_log_row(client, administrator):
    client.force_login(administrator)
    response = client.post(
        reverse("admin:portal_adoption_user_add"),
        {
            "username": "frank",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "roles": ["front_desk"],
            "is_superuser": "on",
        },
    )
    assert response.status_code == 302
    frank = User.objects.get(username="frank")
    assert user_role_groups(frank) == [Role.FRONT_DESK]
    assert not frank.is_superuser and not frank.is_staff
    assert changes_to(frank) == ["staff_created", "staff_role_added:front_desk"]


def test_setting_a_staff_members_password_is_logged(client, administrator, nurse):
    client.force_login(administrator)
    response = client.post(
        reverse("admin:auth_user_password_change", args=[nurse.pk]),
        {
            "usable_password": "true",
            "password1": "a new long passphrase",
            "password2": "a new long passphrase",
        },
    )
    assert response.status_code == 302
    assert changes_to(nurse) == ["staff_password_set"]


def test_an_administrator_cannot_change_a_superusers_account(client, administrator, superuser):
    client.force_login(administrator)
    page = client.get(change_url(superuser))
    assert page.status_code == 200  # read-only
    assert 'name="roles"' not in page.content.decode()
    response = client.post(change_url(superuser), form_data(superuser, is_active=""))
    assert response.status_code == 403
    password = client.post(
        reverse("admin:auth_user_password_change", args=[superuser.pk]),
        {
            "usable_password": "true",
            "password1": "taken over 12345",
            "password2": "taken over 12345",
        },
    )
    assert password.status_code == 403
    superuser.refresh_from_db()
    assert superuser.is_active
    assert superuser.check_password(PASSWORD)


def test_a_manager_cannot_change_staff_accounts(client, manager, nurse):
    client.force_login(manager)
    response = client.post(change_url(nurse), form_data(nurse, roles=["manager"]))
    assert response.status_code == 403
    assert user_role_groups(nurse) == [Role.NURSE]


def test_the_service_refuses_a_superuser_edit_by_anyone_else(rf, administrator, superuser):
    from django.core.exceptions import PermissionDenied

    from portal_adoption.services import staff_account_save

    request = rf.post("/admin/")
    request.user = administrator
    with pytest.raises(PermissionDenied):
        staff_account_save(
            request=request, account=superuser, roles=[], changed_fields=[], created=False
        )


def test_an_account_made_by_a_factory_has_no_log_rows(db):
    # staff_set_roles alone (demo data, tests) is not an administrator's edit.
    account = UserFactory(username="quiet", roles=[Role.NURSE])
    assert changes_to(account) == []
