"""Credit-bureau backends: a small pluggable interface like the SMS one
(notices/backends/sms.py). `settings.CREDIT_BUREAU_BACKEND` names the class.

`submit()` hands one message to the bureau and returns its receipt (the bureau's reference and
when it acknowledged). It raises
- `BureauNotSent` when the message certainly did not reach the bureau (retried with backoff);
- `BureauRefused` when the bureau refused it for good (not retried: `failed`);
- `BureauOutcomeUnknown` when it may have reached the bureau (a timeout after the request went
  out, an answer we cannot read): the submission becomes `unknown` and is never sent again
  without a person deciding so.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string


class BureauNotSent(Exception):
    pass


class BureauRefused(Exception):
    pass


class BureauOutcomeUnknown(Exception):
    pass


@dataclass(frozen=True)
class BureauReceipt:
    reference: str
    acknowledged_at: datetime


class BureauBackend:
    def submit(self, *, message: dict[str, Any], reference: str) -> BureauReceipt:
        """Send `message`; `reference` is ours, stable per submission (the bureau drops a
        duplicate). Returns the bureau's receipt."""
        raise NotImplementedError


class FileBureauBackend(BureauBackend):
    """Development: one JSON file per submission under settings.CREDIT_BUREAU_FILE_PATH,
    named by our reference, mode 0600 from the start. Writing it is the acknowledgement: the
    receipt carries a generated bureau reference, also stored in the file. A second submit with
    the same reference (a resend staff confirmed) finds the file and answers its receipt."""

    def submit(self, *, message: dict[str, Any], reference: str) -> BureauReceipt:
        folder = Path(settings.CREDIT_BUREAU_FILE_PATH)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        final = folder / f"{reference}.json"
        if final.exists():
            data = json.loads(final.read_text(encoding="utf-8"))
            return BureauReceipt(data["bureau_reference"], parse_datetime(data["acknowledged_at"]))
        now = timezone.now()
        bureau_reference = f"CRB-{now:%Y%m%d}-{uuid.uuid4().hex[:12].upper()}"
        payload = {
            "reference": reference,
            "bureau_reference": bureau_reference,
            "acknowledged_at": now.isoformat(),
            "message": message,
        }
        tmp = folder / f".{reference}.{uuid.uuid4().hex}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(payload, ensure_ascii=False, indent=1))
        tmp.rename(final)
        return BureauReceipt(bureau_reference, now)


class HttpBureauBackend(BureauBackend):
    """The bureau's HTTP interface: POST JSON `{reference, message}` to CREDIT_BUREAU_URL with
    a bearer CREDIT_BUREAU_TOKEN and `Idempotency-Key: <reference>`, CREDIT_BUREAU_TIMEOUT
    seconds. A 2xx answer is JSON with the bureau's `reference` (and `acknowledged_at`, else
    the time of the answer)."""

    def submit(self, *, message: dict[str, Any], reference: str) -> BureauReceipt:
        if not settings.CREDIT_BUREAU_URL:
            raise BureauNotSent("CREDIT_BUREAU_URL is not set")
        try:
            response = requests.post(
                settings.CREDIT_BUREAU_URL,
                json={"reference": reference, "message": message},
                headers={
                    "Authorization": f"Bearer {settings.CREDIT_BUREAU_TOKEN}",
                    "Idempotency-Key": reference,
                },
                timeout=settings.CREDIT_BUREAU_TIMEOUT,
            )
        except requests.ConnectTimeout as exc:  # never connected: nothing went out
            raise BureauNotSent(f"connect timeout: {exc}") from exc
        except requests.ConnectionError as exc:
            if _never_connected(exc):
                raise BureauNotSent(f"connection failed: {exc}") from exc
            # Dropped after connecting: the bureau may have read the request.
            raise BureauOutcomeUnknown(f"connection lost: {exc}") from exc
        except requests.Timeout as exc:  # the request went out; the answer never came
            raise BureauOutcomeUnknown(f"no answer within the timeout: {exc}") from exc
        if response.status_code in (408, 429) or response.status_code >= 500:
            raise BureauNotSent(f"bureau answered {response.status_code}")
        if response.status_code >= 300:
            raise BureauRefused(f"bureau answered {response.status_code}: {response.text[:200]}")
        try:
            data = response.json()
        except ValueError as exc:
            raise BureauOutcomeUnknown("bureau accepted without a JSON answer") from exc
        bureau_reference = data.get("reference") if isinstance(data, dict) else None
        if not bureau_reference:
            raise BureauOutcomeUnknown("bureau accepted without a reference")
        acknowledged = parse_datetime(str(data.get("acknowledged_at") or "")) or timezone.now()
        return BureauReceipt(str(bureau_reference)[:120], acknowledged)


def _never_connected(exc: requests.ConnectionError) -> bool:
    text = repr(exc)
    return any(
        marker in text
        for marker in ("NewConnectionError", "Failed to establish", "NameResolutionError")
    )


def bureau_backend() -> BureauBackend:
    return import_string(settings.CREDIT_BUREAU_BACKEND)()
