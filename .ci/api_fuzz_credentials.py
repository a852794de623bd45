"""Print the two identities the API fuzz step calls with, as shell assignments.

Run by .ci/fuzz-api with the application's settings and database:
- FUZZ_KEY: a fresh integration key (the feed, inbound messages, the outbox);
- FUZZ_SESSION / FUZZ_CSRF: a manager's session, signed in with both steps,
  and a CSRF token, so every staff endpoint is reached as a person reaches it.
"""

import os
import secrets
import sys
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal_adoption.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.middleware.csrf import _get_new_csrf_string  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from portal_adoption.models import User  # noqa: E402
from portal_adoption.roles import Role  # noqa: E402
from portal_adoption.services import integration_token_create, staff_set_roles  # noqa: E402


def manager_session() -> str:
    manager, _created = User.objects.get_or_create(username="fuzz-manager")
    staff_set_roles(user=manager, roles=[Role.MANAGER])
    session = SessionStore()
    session[SESSION_KEY] = str(manager.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    session[HASH_SESSION_KEY] = manager.get_session_auth_hash()
    # Managers sign in with a second factor: this session has passed it.
    device, _created = TOTPDevice.objects.get_or_create(
        user=manager, name="Fuzz phone", defaults={"confirmed": True}
    )
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.create()
    return session.session_key


_token, key = integration_token_create(name=f"api fuzz {secrets.token_hex(4)}", created_by=None)
print(f"FUZZ_KEY={key}")
print(f"FUZZ_SESSION={manager_session()}")
print(f"FUZZ_CSRF={_get_new_csrf_string()}")
