"""Fixtures of the ledger feed tests: the lending core's service user and its API client, and
item builders as the core sends them."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.staff import service_user_upsert
from core.audit import system_actor

_seq = itertools.count(1)


@pytest.fixture
def core_user(db):
    user, token = service_user_upsert(
        actor=system_actor("tests"), reason="tests", username="lending-core", permission="core"
    )
    user.api_token = token
    return user


@pytest.fixture
def core(core_user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {core_user.api_token}")
    return client


def national_id(n: int) -> str:
    from accounts.demo import national_id_with_check

    return national_id_with_check(f"3101151990{n:07d}")


def customer_item(n: int | None = None, **overrides) -> dict:
    n = n if n is not None else next(_seq)
    item = {
        "reference": f"C-{n:06d}",
        "name": f"客户{n}",
        "national_id": national_id(n),
        "phone": f"139{n:08d}",
        "preferred_language": "zh-hans",
        "updated_at": "2026-01-01T09:00:00+08:00",
        "account": {
            "number": f"6299{n:012d}",
            "credit_limit": "10000.00",
            "interest_free_days": 30,
            "opened_at": (timezone.now() - timedelta(days=400)).isoformat(),
        },
    }
    item.update(overrides)
    return item


def loan_item(account_number: str, n: int | None = None, **overrides) -> dict:
    n = n if n is not None else next(_seq)
    created = timezone.now() - timedelta(days=10)
    item = {
        "reference": f"L-{n:08d}",
        "account": account_number,
        "amount": "300.00",
        "fees": "3.00",
        "kind": "installment",
        "merchant": "京东自营",
        "channel": "app",
        "partner_interface": "",
        "created_at": created.isoformat(),
        "schedule": [
            {"due_on": (created + timedelta(days=30 * k)).date().isoformat(), "amount": "100.00"}
            for k in (1, 2, 3)
        ],
        "authorization": {
            "method": "sms_code",
            "channel": "app",
            "device_id": "iPhone14,5-0001",
            "ip": "116.228.35.17",
            "consent_reference": f"CS{n:08d}",
            "at": (created - timedelta(seconds=20)).isoformat(),
            "outcome": "success",
        },
    }
    item.update(overrides)
    return item


def repayment_item(account_number: str, n: int | None = None, **overrides) -> dict:
    n = n if n is not None else next(_seq)
    item = {
        "reference": f"R-{n:08d}",
        "account": account_number,
        "amount": "100.00",
        "paid_at": timezone.now().isoformat(),
    }
    item.update(overrides)
    return item
