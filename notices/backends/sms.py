"""SMS backends: a small pluggable interface. `settings.SMS_BACKEND` names the class.

`send()` returns the provider's message id, stored on the notice as proof of delivery; any
exception means "not sent" and the notice is retried.
"""

from __future__ import annotations

import json
import logging
import os
import uuid

import requests
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from core.storage import private_dir

from . import OutcomeUnknown

logger = logging.getLogger(__name__)


class SmsError(Exception):
    pass


class SmsBackend:
    def send(self, *, to: str, body: str, reference: str) -> str:
        """Send `body` to the phone number `to`; `reference` is our idempotency reference
        (gateways that support it drop duplicates). Returns the provider message id."""
        raise NotImplementedError


class FileSmsBackend(SmsBackend):
    """Development: one JSON file per message under settings.SMS_FILE_PATH."""

    def send(self, *, to: str, body: str, reference: str) -> str:
        folder = private_dir(settings.SMS_FILE_PATH)  # 0700, an existing one tightened too
        message_id = f"file-{uuid.uuid4().hex}"
        payload = {
            "id": message_id,
            "to": to,
            "body": body,
            "reference": reference,
            "at": timezone.now().isoformat(),
        }
        tmp = folder / f".{message_id}.tmp"
        # 0600 from the start (not chmod after writing): a message holds a phone number and a
        # one-time code, readable by this user only.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(payload, ensure_ascii=False, indent=1))
        tmp.rename(folder / f"{message_id}.json")
        return message_id


class ConsoleSmsBackend(SmsBackend):
    """Development: the message goes to the log."""

    def send(self, *, to: str, body: str, reference: str) -> str:
        message_id = f"console-{uuid.uuid4().hex}"
        logger.info("SMS %s to %s (%s):\n%s", message_id, to, reference, body)
        return message_id


class HttpGatewaySmsBackend(SmsBackend):
    """An HTTP gateway: POST JSON `{to, body, reference}` to SMS_GATEWAY_URL with a bearer
    token; the answer is JSON with the gateway's `id` (or `message_id`)."""

    def send(self, *, to: str, body: str, reference: str) -> str:
        if not settings.SMS_GATEWAY_URL:
            raise SmsError("SMS_GATEWAY_URL is not set")
        try:
            response = self._post(to=to, body=body, reference=reference)
        except requests.exceptions.ReadTimeout as exc:
            # The request went out; whether the gateway took it is unknown.
            raise OutcomeUnknown(f"the gateway did not answer in time: {exc}") from exc
        if response.status_code >= 300:
            raise SmsError(f"gateway answered {response.status_code}: {response.text[:200]}")
        try:
            data = response.json()
        except ValueError as exc:
            raise SmsError("gateway answered without JSON") from exc
        message_id = (data.get("id") or data.get("message_id")) if isinstance(data, dict) else None
        if not message_id:
            raise SmsError("gateway answered without a message id")
        return str(message_id)

    def _post(self, *, to: str, body: str, reference: str) -> requests.Response:
        return requests.post(
            settings.SMS_GATEWAY_URL,
            json={"to": to, "body": body, "reference": reference},
            headers={
                "Authorization": f"Bearer {settings.SMS_GATEWAY_TOKEN}",
                "Idempotency-Key": reference,
            },
            timeout=settings.SMS_GATEWAY_TIMEOUT,
        )


def sms_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()
