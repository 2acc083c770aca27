"""The bottom layer: imports nothing of ours (import-linter holds it); every app builds on it.

- `errors.py`: `ApplicationError`, the one domain error; `audit.py`: who and why
  (`save_with_history`, system actors, `REASON_MAX_LENGTH`); `activity.py`, `seals.py`,
  `append_only.py`: the activity trail, its seal chain and the append-only tables;
- `clock.py`: calendar-day deadlines (Asia/Shanghai); `crypto.py`: personal data at rest;
  `paging.py`: keyset paging; `net.py`: client IP and the lockout answer;
- `api.py`, `api_auth.py`: the API's error handler, input serializers, paging, sign-in and
  permission classes; `portal.py`: `customer_required`;
- `admin_helpers.py`, `admin_history.py`, `forms.py`: admin building blocks, the reason form
  (`reason_field()`) and `form_add_application_error`; `stepup.py` and `models.py`: step-up
  codes and the security logs; `roles.py`: the role names.
"""
