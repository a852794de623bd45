from portal_adoption.celery import app as celery_app

__all__ = ["celery_app"]
