"""The notice outbox and its senders (above core, below accounts; it knows nothing of the
stories that use it).

- `models.py` / `enums.py`: the `Notice` row (one per event, object, recipient, channel) and its
  statuses; `events.py`: the registry of events each app declares in `<app>/notice_events.py`,
  with a template per language; `render.py`: rendering in the recipient's language.
- `services/`: every write (enqueue in the caller's transaction, publish on commit by task name,
  send at most once, retry, fail and alert, resend, sweep); `selectors.py`: the customer's inbox.
- `tasks.py`: the `notices.send` task (calls `services.notice_send`); the beat sweep lives in
  `backoffice/tasks.py`, which calls `services.notices_sweep`.
- `backends/`: SMS gateways; `admin.py`, `views.py` (portal inbox), `api.py` (`/api/v1/messages/`).
"""
