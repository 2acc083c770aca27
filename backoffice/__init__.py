"""The top layer: wiring only. It may import every app; no app imports it.

- `settings.py`, `urls.py` (+ `portal_urls.py`, `api_urls.py`, `staff_urls.py`: each app
  contributes its patterns), `wsgi.py`, `middleware.py`;
- `celery.py`: the Celery app and the beat schedule; `tasks.py` and `sweep.py`: the periodic
  sweep over every app (notices, complaints, closures), also `manage.py sweep`;
- `admin_site.py`: the OTP-enforcing staff admin site (login, enrollment, step-up);
  `roles.py`: which permissions each staff role holds; `health.py`: `/healthz`;
- `trail.py`, `reports/`, `models.py`: the managers' activity trail and reports.
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
