"""API authentication for integrations: `Authorization: Bearer <key>`."""

from django.utils.translation import gettext as _
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from portal_adoption.models import IntegrationToken
from portal_adoption.services import integration_token_mark_used, token_key_hash


class IntegrationTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("The Authorization header must be “Bearer <key>”.")
            )
        token = (
            IntegrationToken.objects.select_related("account")
            .filter(key_hash=token_key_hash(header[1].decode(errors="replace")))
            .first()
        )
        if token is None or not token.is_active or not token.account.is_active:
            raise exceptions.AuthenticationFailed(
                _("This integration key is unknown or revoked: ask an administrator for a new one.")
            )
        integration_token_mark_used(token=token)
        return token.account, token

    def authenticate_header(self, request):
        return self.keyword


class VerifiedSessionAuthentication(authentication.SessionAuthentication):
    """A staff session, once both sign-in steps are done.

    A session that still owes the second step (portal_adoption/two_factor.py)
    counts as no session: the API answers as to an anonymous caller.
    """

    def authenticate(self, request):
        from portal_adoption.two_factor import second_factor_pending

        if second_factor_pending(request._request):
            return None
        return super().authenticate(request)


class IntegrationTokenScheme(OpenApiAuthenticationExtension):
    """Documents the integration key in the OpenAPI schema."""

    target_class = IntegrationTokenAuthentication
    name = "integrationKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": _(
                "An integration key created by an administrator (Administration → "
                "Integration tokens): Authorization: Bearer pam_..."
            ),
        }


class VerifiedSessionScheme(SessionScheme):
    """Documents the staff session (both sign-in steps done) in the OpenAPI schema."""

    target_class = VerifiedSessionAuthentication
    priority = 0
