"""Two-step sign-in: an authenticator app (TOTP) and single-use recovery codes.

Managers and administrators must use it; everyone else may choose it, and
then must use it too. Built on django-otp: a confirmed TOTPDevice is the
authenticator, a StaticDevice holds the recovery codes (each deleted when
used). A session is verified once django_otp.login has stored the device that
accepted a code; SecondFactorMiddleware (portal_adoption/middleware.py) keeps a
signed-in user who still owes the second step on the verify or set-up page,
and VerifiedSessionAuthentication does the same for the API.

Reads first (second_factor_*), then writes (two_factor_*), each write in the
access log as a CHANGE row about the account.
"""

import django_otp
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal_adoption.models import User
from portal_adoption.roles import Role
from portal_adoption.selectors import user_roles
from portal_adoption.services import staff_account_check_may_change, staff_account_log

ROLES_THAT_MUST = frozenset({Role.MANAGER, Role.ADMINISTRATOR})
RECOVERY_CODE_COUNT = 10
AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
TOTP_DIGITS = 6


# --- Reads -------------------------------------------------------------------------


def second_factor_required(user: User) -> bool:
    """Managers and administrators (and superusers) may not sign in without it."""
    return bool(ROLES_THAT_MUST & set(user_roles(user)))


def second_factor_authenticator(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def second_factor_recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def second_factor_pending(request: HttpRequest) -> bool:
    """Signed in with the password, but the second step is still owed.

    Remembered on the request: the middleware, the API and the page shell all ask.
    """
    if not hasattr(request, "_second_factor_pending"):
        request._second_factor_pending = _pending(getattr(request, "user", None))
    return request._second_factor_pending


def _pending(user) -> bool:
    if not (user and user.is_authenticated):
        return False
    is_verified = getattr(user, "is_verified", None)
    if callable(is_verified) and is_verified():
        return False
    return second_factor_required(user) or second_factor_authenticator(user) is not None


# --- Writes ------------------------------------------------------------------------


def two_factor_setup_start(*, user: User) -> TOTPDevice:
    """The authenticator being set up: unconfirmed until the user types a code from it."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)


@transaction.atomic
def two_factor_setup_confirm(*, request: HttpRequest, token: str) -> list[str] | None:
    """Confirm the new authenticator with a code from it; None if the code is wrong.

    1. The code must match the unconfirmed device (django-otp throttles guesses).
    2. The device is confirmed, and replaces any earlier authenticator.
    3. A new set of recovery codes replaces the old one; they are returned to
       be shown once.
    4. This session counts as verified, and the change goes to the access log.
    """
    user = request.user
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None or not _verify_totp(device, token):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(user)
    _mark_verified(request, device)
    staff_account_log(request=request, account=user, what="staff_two_factor_on")
    return codes


def two_factor_verify(*, request: HttpRequest, token: str) -> bool:
    """The second step of a sign-in: a code from the authenticator or a recovery code.

    Six digits go to the authenticator, anything else to the recovery codes, so
    a recovery code never counts as a wrong authenticator code. A recovery code
    works once: django-otp deletes it when it matches.
    """
    token = "".join(token.split()).lower()
    user = request.user
    kind = TOTPDevice if token.isdigit() and len(token) == TOTP_DIGITS else StaticDevice
    for device in kind.objects.filter(user=user, confirmed=True):
        matched = django_otp.verify_token(user, device.persistent_id, token)
        if matched is not None:
            _mark_verified(request, matched)
            if kind is StaticDevice:
                staff_account_log(request=request, account=user, what="staff_recovery_code_used")
            return True
    return False


def two_factor_verify_wait(*, user: User) -> bool:
    """True while django-otp holds back guesses after wrong codes."""
    devices = [*TOTPDevice.objects.filter(user=user), *StaticDevice.objects.filter(user=user)]
    return any(not device.verify_is_allowed()[0] for device in devices)


@transaction.atomic
def two_factor_recovery_codes_renew(*, request: HttpRequest) -> list[str]:
    """A new set of recovery codes; the old ones stop working."""
    if second_factor_authenticator(request.user) is None:
        raise PermissionDenied(_("Set up an authenticator app first."))
    codes = _new_recovery_codes(request.user)
    staff_account_log(request=request, account=request.user, what="staff_recovery_codes_renewed")
    return codes


@transaction.atomic
def two_factor_turn_off(*, request: HttpRequest) -> None:
    """Someone who may choose stops using two-step sign-in."""
    user = request.user
    if second_factor_required(user):
        raise PermissionDenied(_("Your role requires two-step sign-in: it cannot be turned off."))
    _remove_devices(user)
    staff_account_log(request=request, account=user, what="staff_two_factor_off")


@transaction.atomic
def two_factor_reset(*, request: HttpRequest, account: User) -> None:
    """An administrator clears a lost authenticator; the next sign-in sets up a new one."""
    staff_account_check_may_change(actor=request.user, account=account)
    _remove_devices(account)
    staff_account_log(request=request, account=account, what="staff_two_factor_reset")


@transaction.atomic
def two_factor_demo_recovery_code(*, user: User) -> str:
    """Demo logins only (patients/demo.py, `make run`): one fresh recovery code to print.

    A newcomer trying the demo as a manager should not need a phone first, and
    the rule stays whole: the account gets an authenticator on file (a random
    key nobody holds) and a new set of recovery codes, of which one is printed
    and works once. Setting up a real app from the user menu replaces both.
    """
    if second_factor_authenticator(user) is None:
        TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=True)
    return _new_recovery_codes(user)[0]


def _mark_verified(request: HttpRequest, device) -> None:
    # A new session key once fully signed in: a key seen before the second
    # step (on a shared screen, in a proxy log) is worth nothing after it.
    request.session.cycle_key()
    django_otp.login(request, device)


def _verify_totp(device: TOTPDevice, token: str) -> bool:
    token = "".join(token.split())
    return token.isdigit() and len(token) == TOTP_DIGITS and device.verify_token(token)


def _new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def _remove_devices(user: User) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
