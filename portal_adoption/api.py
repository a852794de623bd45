"""API plumbing shared by every app: the base view and the error handler."""

from rest_framework import exceptions
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from portal_adoption.services import access_log_record_denied


class ApiView(APIView):
    """Base of every API view.

    The API authenticates on its own (session for staff, tokens for
    integrations) and answers 401/403 in JSON; DRF marks its views so that
    the page middleware sending anonymous users to the login form leaves
    them alone.
    """


def exception_handler(exc, context):
    """DRF's handler, plus an access-log row for every refused request."""
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.PermissionDenied):
        request = context.get("request")
        if request is not None:
            access_log_record_denied(request=request)
    return drf_exception_handler(exc, context)
