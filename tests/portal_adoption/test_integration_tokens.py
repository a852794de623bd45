"""Ada, the administrator, gives each integration its own revocable key."""

from django.urls import reverse

from portal_adoption.models import IntegrationToken
from portal_adoption.roles import INTEGRATION_GROUP


def test_an_administrator_creates_a_token_and_sees_the_key_once(client, administrator):
    client.force_login(administrator)
    response = client.post(
        reverse("admin:portal_adoption_integrationtoken_add"),
        {"name": "athenahealth feed"},
        follow=True,
    )
    assert response.status_code == 200
    token = IntegrationToken.objects.get()
    shown = [str(m) for m in response.context["messages"]]
    assert any("pam_" in m and "will not be shown again" in m for m in shown)
    assert token.created_by == administrator
    assert token.account.groups.filter(name=INTEGRATION_GROUP).exists()
    assert not token.account.has_usable_password()


def test_an_administrator_revokes_a_token(client, administrator):
    client.force_login(administrator)
    client.post(reverse("admin:portal_adoption_integrationtoken_add"), {"name": "old feed"})
    token = IntegrationToken.objects.get()
    client.post(
        reverse("admin:portal_adoption_integrationtoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_manager_cannot_create_tokens(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("admin:portal_adoption_integrationtoken_add"), {"name": "sneaky"}
    )
    assert response.status_code == 403
    assert not IntegrationToken.objects.exists()
