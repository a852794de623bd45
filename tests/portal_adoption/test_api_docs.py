"""The API's docs page and schema: for managers, administrators and integrations only,
and served without inline styles (the pages' strict CSP)."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from portal_adoption.services import integration_token_create
from tests.portal_adoption.test_page_shell import INLINE_SCRIPT, INLINE_STYLE


def test_a_manager_reads_the_api_docs_page_with_no_inline_style_or_script(client, manager):
    client.force_login(manager)
    response = client.get(reverse("api_docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="swagger-ui"' in html
    assert "css/api_docs" in html
    assert not INLINE_STYLE.search(html)
    assert not INLINE_SCRIPT.search(html)
    assert "unsafe-inline" not in response["Content-Security-Policy"]


@pytest.mark.parametrize("persona", ["front_desk_clerk", "nurse", "provider_user", "billing_clerk"])
@pytest.mark.parametrize("name", ["api_docs", "api_schema"])
def test_staff_who_build_no_integration_get_403_for_the_api_docs(client, request, persona, name):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse(name)).status_code == 403


def test_an_integration_reads_the_schema_with_its_key(db):
    _token, key = integration_token_create(name="Epic interface engine", created_by=None)
    engine = APIClient()
    engine.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = engine.get(reverse("api_schema"), {"format": "json"})
    assert response.status_code == 200
    assert "/api/v1/patients/bulk/" in response.content.decode()
