"""One client address everywhere: the right-most hop no trusted proxy added.

Behind a proxy every request arrives from the proxy's address, so a lockout
keyed on it would let anyone lock any named account; and a forwarded-for
header is whatever the client sent, except for the hops our own proxies
appended. These tests put the application behind a simulated proxy.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import RequestFactory, override_settings
from django.urls import reverse

from portal_adoption.models import AccessLogEntry
from portal_adoption.selectors import client_ip

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
PROXY = "10.0.0.2"
ATTACKER = "203.0.113.66"
NURSE_AT_HOME = "198.51.100.7"


def through_the_proxy(client_address: str, forged: str = "") -> dict:
    """What one trusted proxy passes on: it appends the address it saw to the header."""
    hops = f"{forged}, {client_address}" if forged else client_address
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": hops}


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "remote_addr", "expected"),
    [
        (0, "", "192.0.2.1", "192.0.2.1"),
        (0, "6.6.6.6", "192.0.2.1", "192.0.2.1"),  # no proxy trusted: the header is ignored
        (1, "192.0.2.9", PROXY, "192.0.2.9"),
        (1, "6.6.6.6, 7.7.7.7, 192.0.2.9", PROXY, "192.0.2.9"),  # forged hops on the left
        (2, "6.6.6.6, 192.0.2.9, 10.0.0.3", PROXY, "192.0.2.9"),
        (2, "192.0.2.9", PROXY, "192.0.2.9"),  # fewer hops than proxies: all from proxies
        (1, "", PROXY, PROXY),  # no header at all: the peer is all there is
        (1, "2001:0DB8::0001", PROXY, "2001:db8::1"),  # as PostgreSQL writes it back
        (1, "::ffff:192.0.2.9", PROXY, "192.0.2.9"),
        (1, "192.0.2.9:51234", PROXY, "192.0.2.9"),  # some proxies add the port
        (1, "[2001:db8::1]:443", PROXY, "2001:db8::1"),
        (1, "unknown", PROXY, None),  # never a made-up address, never a 500
        (1, "6.6.6.6, not-an-address", PROXY, None),
        (0, "", "", None),
    ],
)
def test_the_client_is_the_right_most_hop_no_trusted_proxy_added(
    proxies, forwarded_for, remote_addr, expected
):
    meta = {"REMOTE_ADDR": remote_addr}
    if forwarded_for:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded_for
    with override_settings(TRUSTED_PROXY_COUNT=proxies):
        assert client_ip(RequestFactory().get("/", **meta)) == expected


def sign_in(client, username, password, **meta):
    return client.post(reverse("login"), {"username": username, "password": password}, **meta)


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_a_proxy_an_attacker_cannot_lock_a_nurse_out(client, nurse):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "nora", "guessing", **through_the_proxy(ATTACKER, f"10.9.9.{attempt}"))

    response = sign_in(client, "nora", PASSWORD, **through_the_proxy(NURSE_AT_HOME))
    assert response.status_code == 302
    assert response.url == reverse("home")


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_a_proxy_the_attacker_stays_locked_out_whatever_hops_he_forges(client, nurse):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "nora", "guessing", **through_the_proxy(ATTACKER, f"10.9.9.{attempt}"))

    response = sign_in(client, "nora", PASSWORD, **through_the_proxy(ATTACKER, NURSE_AT_HOME))
    assert response.status_code == 429


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_a_proxy_the_access_log_records_the_client_not_a_forged_hop(client, nurse, patient):
    client.force_login(nurse)
    url = reverse("patients:detail", kwargs={"pk": patient.pk})
    response = client.get(url, **through_the_proxy(NURSE_AT_HOME, forged="6.6.6.6"))
    assert response.status_code == 200
    assert AccessLogEntry.objects.get().ip_address == NURSE_AT_HOME


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_a_garbage_forwarded_hop_still_writes_the_row_without_an_address(client, nurse, patient):
    client.force_login(nurse)
    url = reverse("patients:detail", kwargs={"pk": patient.pk})
    response = client.get(url, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="<script>")
    assert response.status_code == 200
    assert AccessLogEntry.objects.get().ip_address is None


def test_axes_and_drf_throttles_find_the_client_the_same_way():
    assert settings.AXES_CLIENT_IP_CALLABLE == "portal_adoption.selectors.client_ip"
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == settings.TRUSTED_PROXY_COUNT


# The headers, not the TRUST_X_FORWARDED_FOR setting that names one.
ADDRESS_HEADERS = re.compile(
    r"REMOTE_ADDR|(?<!TRUST_)X[-_]FORWARDED[-_]FOR|X[-_]REAL[-_]IP", re.IGNORECASE
)
THE_ONE_PLACE = ROOT / "portal_adoption" / "selectors.py"
NOT_APPLICATION_CODE = {".venv", "tests", "bench", ".git", "var", "node_modules", "mutants"}


def application_files():
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in NOT_APPLICATION_CODE or not path.is_file():
            continue
        if path.suffix in {".py", ".html", ".txt", ".js"}:
            yield path


@pytest.mark.reads_the_source
def test_no_code_but_client_ip_reads_the_client_address_headers():
    readers = []
    for path in application_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        if path == THE_ONE_PLACE:
            text = _without_client_ip(text)
        readers += [
            f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
            for n, line in enumerate(text.splitlines(), start=1)
            if ADDRESS_HEADERS.search(line)
        ]
    assert readers == [], "Use portal_adoption.selectors.client_ip(request) instead:\n" + (
        "\n".join(readers)
    )


def _without_client_ip(text: str) -> str:
    """selectors.py without client_ip and its helpers, the one place allowed to read them."""
    start = text.index("def client_ip(")
    end = text.index("\ndef ", text.index("def _without_port("))
    return text[:start] + text[end:]


def settings_with(**variables) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"TRUSTED_PROXY_COUNT", "TRUST_X_FORWARDED_FOR", "DEBUG"}
    }
    env.update(DJANGO_SETTINGS_MODULE="portal_adoption.settings", PAM_TESTING="true", **variables)
    script = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps([settings.TRUSTED_PROXY_COUNT, "
        "getattr(settings, 'SECURE_PROXY_SSL_HEADER', None)]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("variables", "proxies", "trusts_forwarded_proto"),
    [
        ({}, 0, False),
        ({"TRUSTED_PROXY_COUNT": "2"}, 2, True),
        ({"TRUST_X_FORWARDED_FOR": "true"}, 1, True),  # the earlier setting: one proxy
        ({"TRUST_X_FORWARDED_FOR": "true", "TRUSTED_PROXY_COUNT": "0"}, 0, False),
    ],
)
def test_the_proxy_settings_come_from_the_environment(variables, proxies, trusts_forwarded_proto):
    count, proto_header = settings_with(**variables)
    assert count == proxies
    assert (proto_header is not None) == trusts_forwarded_proto
