"""Policy closure campaign benchmark: `python -m bench campaign --accounts 100000`.

Seeds N customers and accounts with set-based SQL in a scratch database (opened 60 days ago,
every one in the segment "account open for at least 30 days"), has a manager create and submit
a `product_change` campaign and a reviewer approve it, then times the run: one approved closure
per account with its case events, history, trail rows and closure notices (portal inbox and
SMS), in batches. Prints accounts/s and the queries per batch; it never fails on time.
"""

from __future__ import annotations

import argparse
import os
import time

from bench import django_setup, load_average, scratch_database

_ACCOUNTS_SQL = """
WITH u AS (
    INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email,
        is_staff, is_active, date_joined, security_stamp)
    SELECT '!', false, 'camp' || g, '', '', '', false, true, now(), 'x'
    FROM generate_series(1, %(n)s) g
    RETURNING id, username
), c AS (
    INSERT INTO accounts_customer (user_id, name, national_id, national_id_index, phone,
        phone_index, preferred_language, created_at, core_hash)
    SELECT id, username, %(secret)s, username, %(secret)s, username,
           CASE WHEN id %% 5 = 0 THEN 'en' ELSE 'zh-hans' END, now(), '' FROM u
    RETURNING id
)
INSERT INTO accounts_creditaccount (number, customer_id, status, credit_limit,
    outstanding_balance, available_credit, interest_free_days, overdue_count, opened_at)
SELECT '78' || lpad(id::text, 14, '0'), id, 'active', 1000, 0, 1000, 30, 0,
       now() - interval '60 days'
FROM c
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench campaign")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=None)
    args = parser.parse_args(argv)
    # The notices' send tasks are published on commit; no worker is needed to measure the run.
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ.setdefault("DEBUG", "false")
    with scratch_database("bench_campaign"):
        django_setup()
        # Django is configured only now (against the scratch database): import after it.
        from django.core.management import call_command
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from accounts.staff import staff_upsert
        from closures import services
        from closures.services import campaigns
        from core import crypto
        from core.audit import system_actor
        from core.models import StepUpVerification

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                _ACCOUNTS_SQL, {"n": args.accounts, "secret": crypto.encrypt("13800000000")}
            )
            cursor.execute("ANALYZE")
        seeded = time.perf_counter() - started
        system = system_actor("bench")
        manager, _device = staff_upsert(
            actor=system, reason="bench", username="bench-manager", role="manager"
        )
        reviewer, _device = staff_upsert(
            actor=system, reason="bench", username="bench-reviewer", role="reviewer"
        )
        StepUpVerification.objects.create(user=reviewer, purpose="bench")
        started = time.perf_counter()
        campaign = services.campaign_create(
            actor=manager,
            reason="bench",
            title="bench",
            closure_reason="product_change",
            segment={"account_age_min_days": 30},
            explanation_zh="因产品调整，我们将关闭该账户。",
            explanation_en="We are retiring this product, so this account will be closed.",
        )
        services.campaign_submit(actor=manager, campaign_id=campaign.pk, reason="bench")
        services.campaign_approve(actor=reviewer, campaign_id=campaign.pk, reason="bench")
        previewed = time.perf_counter() - started
        batch = args.batch_size or campaigns.batch_size_default()
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as ctx:
            campaign = campaigns.campaign_run(campaign_id=campaign.pk, batch_size=batch)
        elapsed = time.perf_counter() - started
        rate = campaign.proposed_count / elapsed if elapsed else 0.0
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM notices_notice WHERE event = 'closure.notice'")
            notices = cursor.fetchone()[0]
        print(
            f"campaign: {args.accounts:,} accounts seeded in {seeded:.1f} s; create + submit + "
            f"approve (three counts of the segment) {previewed:.2f} s; run: "
            f"{campaign.proposed_count:,} closures ({notices:,} notices) in {elapsed:.1f} s = "
            f"{rate:,.0f} accounts/s; {campaign.batches} batches of {batch}, "
            f"{len(ctx.captured_queries) / max(campaign.batches, 1):.0f} queries per batch; "
            f"status {campaign.status}; load {load_average()}"
        )


if __name__ == "__main__":
    main()
