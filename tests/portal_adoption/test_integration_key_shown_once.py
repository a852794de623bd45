"""A new integration key is shown once, from server-side state, never from a cookie.

The `messages` cookie is signed, not encrypted: anything in it can be read by
whoever sees the browser's cookies or the traffic logs of a proxy.
"""

import binascii
import zlib

from django.contrib.sessions.models import Session
from django.core import signing
from django.urls import reverse

from portal_adoption.models import IntegrationToken


def readable(value: str) -> str:
    """A cookie as anyone holding it can read it: signed values are only base64 (and zlib)."""
    payload = value.split(":")[0]
    try:
        data = signing.b64_decode(payload.lstrip(".").encode())
        if payload.startswith("."):
            data = zlib.decompress(data)
    except (binascii.Error, zlib.error, ValueError):
        return value
    return value + " " + data.decode(errors="replace")


def cookie_values(response) -> str:
    return " ".join(readable(morsel.value) for morsel in response.cookies.values())


def test_the_new_key_never_travels_in_a_cookie(client, administrator):
    client.force_login(administrator)
    created = client.post(
        reverse("admin:portal_adoption_integrationtoken_add"), {"name": "athenahealth feed"}
    )
    assert created.status_code == 302
    page = client.get(created.url)
    shown = " ".join(str(m) for m in page.context["messages"])
    key = next(word for word in shown.split() if word.startswith("pam_"))
    assert IntegrationToken.objects.get().key_prefix in key
    assert key in page.content.decode()
    assert key not in cookie_values(created)
    assert key not in cookie_values(page)
    assert "pam_" not in cookie_values(created) + cookie_values(page)


def test_the_key_is_gone_from_the_session_once_shown(client, administrator):
    client.force_login(administrator)
    client.post(
        reverse("admin:portal_adoption_integrationtoken_add"), {"name": "portal feed"}, follow=True
    )
    stored = [str(s.get_decoded()) for s in Session.objects.all()]
    assert stored
    assert not any("pam_" in data for data in stored)
