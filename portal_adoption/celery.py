"""The Celery application. Settings come from Django's CELERY_* settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal_adoption.settings")

app = Celery("portal_adoption")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
