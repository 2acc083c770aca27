"""Seeding the complaints bench: set-based SQL (INSERT ... SELECT generate_series, explicit
ids, no per-row Python), then VACUUM ANALYZE. History tables are not filled."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from core import crypto

from . import API_CUSTOMER_COMPLAINTS, API_CUSTOMER_EXTRA_LOANS

# Seeding statements. %(name)s are parameters; offsets make explicit ids that do not collide with
# rows migrate/setup created, so every row can be derived from g without lookups.
_USERS = """
INSERT INTO accounts_user (id, password, is_superuser, username, first_name, last_name, email,
    is_staff, is_active, date_joined, security_stamp)
SELECT %(u0)s + g, '!', false, 'bc' || g, '', '', '', false, true,
       now() - make_interval(days => g %% 900), md5(g::text)
FROM generate_series(1, %(n)s) g
"""
_CUSTOMERS = """
INSERT INTO accounts_customer (id, user_id, name, national_id, national_id_index, phone,
    phone_index, preferred_language, created_at)
SELECT %(c0)s + g, %(u0)s + g, 'Customer ' || g, %(nid)s, md5('n' || g), %(phone)s,
       md5('p' || g), CASE WHEN g %% 5 = 0 THEN 'en' ELSE 'zh-hans' END,
       now() - make_interval(days => g %% 900)
FROM generate_series(1, %(n)s) g
"""
_ACCOUNTS = """
INSERT INTO accounts_creditaccount (id, number, customer_id, status, credit_limit,
    outstanding_balance, available_credit, interest_free_days, overdue_count, opened_at)
SELECT %(a0)s + g, '66' || lpad(g::text, 14, '0'), %(c0)s + g,
       CASE WHEN g %% 50 = 0 THEN 'frozen' ELSE 'active' END, 20000, 1500, 18500, 30,
       g %% 3, now() - make_interval(days => g %% 900)
FROM generate_series(1, %(n)s) g
"""
# Loan j of account g has id l0 + (g - 1) * L + j; the API customer's extra loans come after.
_LOANS = """
INSERT INTO accounts_loanrecord (id, reference, account_id, amount, outstanding_amount, fees,
    interest, kind, merchant, channel, partner_interface, status, created_at, due_date,
    collection_paused)
SELECT %(l0)s + (g - 1) * %(per)s + j, 'LN' || g || '-' || j, %(a0)s + g,
       500 + (g %% 50) * 10, 250, 0, 0,
       (ARRAY['purchase', 'cash', 'installment'])[1 + (g + j) %% 3],
       'Merchant ' || ((g * 7 + j) %% 500),
       (ARRAY['app', 'web', 'partner_api'])[1 + (g + j) %% 3],
       CASE WHEN (g + j) %% 3 = 2 THEN 'PI-' || lpad(((g + j) %% 20)::text, 3, '0') ELSE '' END,
       'posted', now() - make_interval(days => (g + j * 11) %% 365, mins => j * 37), NULL, false
FROM generate_series(1, %(n)s) g CROSS JOIN generate_series(1, %(per)s) j
"""
_EXTRA_LOANS = """
INSERT INTO accounts_loanrecord (id, reference, account_id, amount, outstanding_amount, fees,
    interest, kind, merchant, channel, partner_interface, status, created_at, due_date,
    collection_paused)
SELECT %(l0)s + %(n)s * %(per)s + k, 'LX1-' || k, %(a0)s + 1, 100 + k, 50, 0, 0, 'purchase',
       'Merchant ' || k, 'app', '', 'posted', now() - make_interval(days => k), NULL, false
FROM generate_series(1, %(extra)s) k
"""
_AUTH_EVENTS = """
INSERT INTO accounts_authorizationevent (account_id, loan_id, method, channel, partner_interface,
    device_id, ip_address, consent_reference, occurred_at, outcome)
SELECT l.account_id, l.id,
       (ARRAY['password', 'sms_code', 'totp', 'biometric', 'partner_token'])[1 + l.id %% 5],
       l.channel, l.partner_interface, 'dev-' || (l.id %% 4), ('10.0.' || (l.id %% 200) || '.'
       || (l.id %% 250))::inet, 'CONSENT-' || l.id, l.created_at - interval '1 minute',
       'success'
FROM accounts_loanrecord l
WHERE l.id > %(l0)s AND l.id %% 10 <> 0
"""
# Complaint g: customer 1 (the API customer) for the first API_CUSTOMER_COMPLAINTS, otherwise
# customer (g - 1) mod n + 1. 30 % open (received / investigating / pending approval), of which
# 40 % unassigned and 3 % paused; the rest decided, closed, under review or withdrawn.
_COMPLAINTS = """
INSERT INTO complaints_complaint (id, reference, customer_id, account_id, category, channel,
    status, outcome, description, account_compromised, received_at, acknowledged_at, clock_days,
    paused_days, paused_at, pause_reason, due_at, extension_requested_by_id,
    extension_request_reason, assignee_id, drafted_by_id, approved_by_id, decision_text,
    root_cause, decided_at, closed_at, reminded_for, escalated_for)
SELECT %(k0)s + g, 'CP' || lpad(g::text, 10, '0'), %(c0)s + ci, %(a0)s + ci, category, channel,
       status,
       CASE WHEN status IN ('received', 'investigating', 'pending_approval') THEN ''
            WHEN status = 'withdrawn' THEN 'withdrawn'
            ELSE (ARRAY['upheld', 'partially_upheld', 'rejected'])[1 + g %% 3] END,
       repeat('The customer describes what happened in some detail. ', 6),
       category = 'unauthorized_loan' AND g %% 7 = 0,
       received_at, received_at + interval '1 hour', 15,
       0, CASE WHEN is_open AND g %% 33 = 0 THEN now() - interval '1 day' END,
       CASE WHEN is_open AND g %% 33 = 0 THEN 'appraisal' ELSE '' END,
       received_at + interval '15 days', NULL, '',
       CASE WHEN is_open AND g %% 5 IN (0, 1) THEN NULL
            ELSE agents[1 + (g / 3) %% cardinality(agents)] END,
       CASE WHEN is_open THEN NULL ELSE agents[1 + g %% cardinality(agents)] END,
       CASE WHEN is_open THEN NULL ELSE agents[1 + (g + 1) %% cardinality(agents)] END,
       CASE WHEN is_open THEN '' ELSE 'The decision and its reasons.' END,
       CASE WHEN is_open THEN '' ELSE 'other' END,
       CASE WHEN is_open THEN NULL ELSE received_at + make_interval(days => g %% 14) END,
       CASE WHEN status IN ('closed', 'withdrawn') THEN received_at + interval '20 days' END,
       NULL, NULL
FROM (
    SELECT g, ci, agents, status, status IN ('received', 'investigating', 'pending_approval')
           AS is_open,
           (ARRAY['unauthorized_loan', 'unauthorized_loan', 'unauthorized_loan',
                  'unauthorized_loan', 'closure', 'billing', 'billing', 'service', 'privacy',
                  'other'])[1 + g %% 10] AS category,
           (ARRAY['portal', 'api', 'phone', 'letter'])[1 + g %% 4] AS channel,
           CASE WHEN status IN ('received', 'investigating', 'pending_approval')
                -- open: received 0..20 days ago, so due from 5 days ago to 15 days ahead
                THEN now() - make_interval(days => g %% 20, hours => g %% 24)
                ELSE now() - make_interval(days => 30 + g %% 700, hours => g %% 24) END
           AS received_at
    FROM (
        SELECT g, %(agents)s::bigint[] AS agents,
               CASE WHEN g <= %(api_n)s THEN 1 ELSE (g - 1) %% %(n)s + 1 END AS ci,
               CASE WHEN (g * 7) %% 100 < 12 THEN 'received'
                    WHEN (g * 7) %% 100 < 24 THEN 'investigating'
                    WHEN (g * 7) %% 100 < 30 THEN 'pending_approval'
                    WHEN (g * 7) %% 100 < 80 THEN 'closed'
                    WHEN (g * 7) %% 100 < 85 THEN 'decided'
                    WHEN (g * 7) %% 100 < 87 THEN 'under_review'
                    ELSE 'withdrawn' END AS status
        FROM generate_series(1, %(m)s) g
    ) s
) c
"""
# Unauthorized-loan complaints dispute loan 1 of their account, every other one loan 2 as well.
_DISPUTED = """
INSERT INTO complaints_disputeditem (complaint_id, loan_id, outcome, reasons,
    reversed_outstanding, refunded_repaid, refunded_fees, refunded_interest, applied_at)
SELECT c.id, %(l0)s + (c.account_id - %(a0)s - 1) * %(per)s + j,
       CASE WHEN c.decided_at IS NULL THEN ''
            WHEN c.outcome = 'rejected' THEN 'rejected' ELSE 'upheld' END,
       CASE WHEN c.decided_at IS NULL THEN '' ELSE 'Reasons for this record.' END, 0, 0, 0, 0,
       NULL
FROM complaints_complaint c CROSS JOIN generate_series(1, LEAST(2, %(per)s)) j
WHERE c.id > %(k0)s AND c.category = 'unauthorized_loan' AND (j = 1 OR c.id %% 2 = 0)
"""
_EVENTS = """
INSERT INTO complaints_caseevent (complaint_id, type, actor_id, from_status, to_status,
    assignee_id, customer_visible, text, at)
SELECT id, 'received', NULL::bigint, '', 'received', NULL::bigint, true, '', received_at
FROM complaints_complaint WHERE id > %(k0)s
UNION ALL
SELECT id, 'acknowledged', NULL::bigint, '', '', NULL::bigint, true,
       'We have received your complaint.', acknowledged_at
FROM complaints_complaint WHERE id > %(k0)s
UNION ALL
SELECT id, 'assigned', assignee_id, 'received', 'investigating', assignee_id, false, '',
       received_at + interval '2 hours'
FROM complaints_complaint WHERE id > %(k0)s AND assignee_id IS NOT NULL
UNION ALL
SELECT id, 'message', assignee_id, '', '', NULL::bigint, true,
       'We are looking into the records.', received_at + interval '1 day'
FROM complaints_complaint WHERE id > %(k0)s AND assignee_id IS NOT NULL AND id %% 2 = 0
UNION ALL
SELECT id, 'drafted', drafted_by_id, '', '', NULL::bigint, false, decision_text,
       decided_at - interval '1 day'
FROM complaints_complaint WHERE id > %(k0)s AND decided_at IS NOT NULL
    AND drafted_by_id IS NOT NULL
UNION ALL
SELECT id, 'decided', approved_by_id, 'pending_approval', 'decided', NULL::bigint, true,
       decision_text, decided_at
FROM complaints_complaint WHERE id > %(k0)s AND decided_at IS NOT NULL
UNION ALL
SELECT id, 'closed', approved_by_id, 'decided', 'closed', NULL::bigint, true, '', closed_at
FROM complaints_complaint WHERE id > %(k0)s AND closed_at IS NOT NULL
UNION ALL
-- As services.review writes them: every review request with its event (the customer's).
SELECT c.id, 'review_requested', cu.user_id, 'decided', 'under_review', NULL::bigint, true,
       'I do not agree with the decision.', c.decided_at + interval '3 days'
FROM complaints_complaint c JOIN accounts_customer cu ON cu.id = c.customer_id
WHERE c.id > %(k0)s AND c.status = 'under_review'
"""
_NOTES = """
INSERT INTO complaints_internalnote (complaint_id, author_id, text, created_at)
SELECT id, COALESCE(assignee_id, %(agent)s), 'Called the customer; waiting for statements.',
       received_at + interval '3 hours'
FROM complaints_complaint WHERE id > %(k0)s AND id %% 3 = 0
"""
_REVIEWS = """
INSERT INTO complaints_verificationrequest (complaint_id, grounds, status, outcome,
    decision_text, handler_id, received_at, due_at, decided_at)
SELECT id, 'I do not agree with the decision.', 'submitted', '', '', NULL,
       decided_at + interval '3 days', now() + make_interval(days => (id %% 30)::int), NULL
FROM complaints_complaint WHERE id > %(k0)s AND status = 'under_review'
"""
# Every seeded customer carries these (encrypted once); their blind indexes are placeholders.
SEEDED_PHONE = "13800138000"
SEEDED_NATIONAL_ID = "110105199001011234"
SEEDED_TABLES = (
    "accounts_user",
    "accounts_customer",
    "accounts_creditaccount",
    "accounts_loanrecord",
    "accounts_authorizationevent",
    "complaints_complaint",
    "complaints_disputeditem",
    "complaints_caseevent",
    "complaints_internalnote",
    "complaints_verificationrequest",
)


def _max_id(cursor, table: str) -> int:
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
    return int(cursor.fetchone()[0])


def _offset(cursor, table: str, first_seeded: str) -> int:
    """The id offset of the seeded rows: before the first seeded row when an earlier run (of a
    kept database, --keep-database) already seeded some, else after every existing row."""
    cursor.execute(f"SELECT id - 1 FROM {table} WHERE {first_seeded}")  # noqa: S608
    row = cursor.fetchone()
    return int(row[0]) if row else _max_id(cursor, table)


# A step is done when its first row exists (steps run in order, each one statement).
_FIRST_ROW = {
    "users": "SELECT 1 FROM accounts_user WHERE id = %(u0)s + 1 AND username = 'bc1'",
    "customers": "SELECT 1 FROM accounts_customer WHERE id = %(c0)s + 1",
    "accounts": "SELECT 1 FROM accounts_creditaccount WHERE id = %(a0)s + 1",
    "loan records": "SELECT 1 FROM accounts_loanrecord WHERE id = %(l0)s + 1",
    "extra loans": "SELECT 1 FROM accounts_loanrecord WHERE reference = 'LX1-1'",
    "authorization events": "SELECT 1 FROM accounts_authorizationevent WHERE loan_id = %(l0)s + 1",
    "complaints": "SELECT 1 FROM complaints_complaint WHERE id = %(k0)s + 1",
    "disputed items": "SELECT 1 FROM complaints_disputeditem WHERE complaint_id > %(k0)s LIMIT 1",
    "case events": "SELECT 1 FROM complaints_caseevent WHERE complaint_id = %(k0)s + 1",
    "internal notes": "SELECT 1 FROM complaints_internalnote WHERE complaint_id > %(k0)s LIMIT 1",
    "review requests": "SELECT 1 FROM complaints_verificationrequest "
    "WHERE complaint_id > %(k0)s LIMIT 1",
}


def _seeded(cursor, label: str, p: dict) -> bool:
    cursor.execute(_FIRST_ROW[label], p)
    return cursor.fetchone() is not None


@contextmanager
def _blank_defaults(cursor, tables: tuple[str, ...]) -> Iterator[None]:
    """Columns added since these statements were written (NOT NULL, no default) get a blank
    default for the seeding, dropped afterwards, so the set-based INSERTs keep working."""
    blank = {
        "text": "''",
        "character varying": "''",
        "boolean": "false",
        "integer": "0",
        "smallint": "0",
        "bigint": "0",
        "interval": "'0'",
        "jsonb": "'{}'",
    }
    cursor.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_name = ANY(%s) AND is_nullable = 'NO' AND column_default IS NULL "
        "AND column_name <> 'id' AND data_type = ANY(%s)",
        [list(tables), list(blank)],
    )
    columns = cursor.fetchall()
    for table, column, kind in columns:
        cursor.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" SET DEFAULT {blank[kind]}')
    try:
        yield
    finally:
        for table, column, _kind in columns:
            cursor.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" DROP DEFAULT')


def seed(*, accounts: int, complaints: int, loans_per_account: int, agent_ids: list[int]) -> None:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        p = {
            "n": accounts,
            "m": complaints,
            "per": loans_per_account,
            "extra": API_CUSTOMER_EXTRA_LOANS,
            "api_n": API_CUSTOMER_COMPLAINTS,
            "agents": agent_ids,
            "agent": agent_ids[0],
            # One valid Fernet token for every row: pages decrypt the customer's phone.
            "nid": crypto.encrypt(SEEDED_NATIONAL_ID),
            "phone": crypto.encrypt(SEEDED_PHONE),
            "u0": _offset(cursor, "accounts_user", "username = 'bc1'"),
            "c0": _offset(cursor, "accounts_customer", "name = 'Customer 1'"),
            "a0": _offset(cursor, "accounts_creditaccount", "number = '66' || lpad('1', 14, '0')"),
            "l0": _offset(cursor, "accounts_loanrecord", "reference = 'LN1-1'"),
            "k0": _offset(cursor, "complaints_complaint", "reference = 'CP0000000001'"),
        }
        steps = [
            ("users", _USERS),
            ("customers", _CUSTOMERS),
            ("accounts", _ACCOUNTS),
            ("loan records", _LOANS),
            ("extra loans", _EXTRA_LOANS),
            ("authorization events", _AUTH_EVENTS),
            ("complaints", _COMPLAINTS),
            ("disputed items", _DISPUTED),
            ("case events", _EVENTS),
            ("internal notes", _NOTES),
            ("review requests", _REVIEWS),
        ]
        done = 0
        with _blank_defaults(cursor, SEEDED_TABLES):
            for label, sql in steps:
                if _seeded(cursor, label, p):
                    done += 1
                    print(
                        f"  {label}: already seeded (an earlier run stopped after them)", flush=True
                    )
                    continue
                t0 = time.perf_counter()
                cursor.execute(sql, p)
                print(
                    f"  seeded {cursor.rowcount:>9,} {label} in {time.perf_counter() - t0:5.1f} s",
                    flush=True,
                )
        for table in SEEDED_TABLES:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT MAX(id) FROM {table}))"
            )
    seeded = time.perf_counter() - started
    if done == len(steps):
        print("  every step was seeded by an earlier run (--keep-database)", flush=True)
        return
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        for table in SEEDED_TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(
        f"  seeding {seeded:.1f} s (no history rows), VACUUM ANALYZE "
        f"{time.perf_counter() - t0:.1f} s",
        flush=True,
    )
