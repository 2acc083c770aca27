"""The managers' dashboard and reports at scale: `python -m bench reports [--complaints 1000000]`.

Seeds a scratch PostgreSQL database set-based (INSERT ... SELECT generate_series, explicit ids, no
per-row Python): one customer and credit account per two complaints, two loan records per
account (a third through one of 20 partner interfaces, 500 merchants), and the complaints over
the last two years: 2 % still open, the rest decided (on time or late, a tenth extended once, a
fiftieth twice, some paused), closed or withdrawn, every category, channel and root cause;
disputed loan records with their objection marks for the unauthorized-loan ones; compensations;
review requests; one notice per complaint and one per decision; one closure per ten complaints
(every reason and status) with appeals for a third of those in effect; closure and incident
alerts. Complaints received or decided today get a history row, as the services would write
(today's live figures read through it). Then VACUUM ANALYZE, and the daily rollup is filled the
way the sweep would (its time is printed).

Then it times, over HTTP through gunicorn (2 workers, DEBUG off) as a signed-in manager, the
dashboard and every report with its default range, as HTML and as CSV (median of --repeat after
one warm-up), and prints each with its ratio to the budget (PRODUCT.md: ≤ 500 ms at 1M
complaints). `--no-rollup` times the live queries alone (what the rollup saves). Each
report's slowest query is printed first (in-process), with EXPLAIN ANALYZE above
`--explain-over` ms. `--seeded` times the database of DATABASE_URL as it stands (seeded
before, e.g. by an earlier run's `_seed`), without a scratch database.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

from bench import django_setup, free_port, load_average, manager_session_cookie, scratch_database

ROOT = Path(__file__).resolve().parent.parent
BUDGET_MS = 500.0
SECRET_KEY = "bench-" + "x" * 60
OFFSET = 1_000_000  # explicit ids above anything migrate or the set-up created

_USERS = """
INSERT INTO accounts_user (id, password, is_superuser, username, first_name, last_name, email,
    is_staff, is_active, date_joined, security_stamp)
SELECT %(o)s + g, '!', false, 'br' || g, '', '', '', false, true, now(), md5(g::text)
FROM generate_series(1, %(n)s) g
"""
_CUSTOMERS = """
INSERT INTO accounts_customer (id, user_id, name, national_id, national_id_index, phone,
    phone_index, preferred_language, created_at)
SELECT %(o)s + g, %(o)s + g, '客户 ' || g, %(nid)s, md5('n' || g), %(phone)s, md5('p' || g),
       CASE WHEN g %% 5 = 0 THEN 'en' ELSE 'zh-hans' END, now() - interval '800 days'
FROM generate_series(1, %(n)s) g
"""
_ACCOUNTS = """
INSERT INTO accounts_creditaccount (id, number, customer_id, status, credit_limit,
    outstanding_balance, available_credit, interest_free_days, overdue_count, opened_at)
SELECT %(o)s + g, '67' || lpad(g::text, 14, '0'), %(o)s + g, 'active', 20000, 1500, 18500, 30,
       g %% 3, now() - interval '800 days'
FROM generate_series(1, %(n)s) g
"""
# Loan j (1, 2) of account g has id o + 2 (g - 1) + j.
_LOANS = """
INSERT INTO accounts_loanrecord (id, reference, account_id, amount, outstanding_amount, fees,
    interest, kind, merchant, channel, partner_interface, status, created_at, due_date,
    collection_paused)
SELECT %(o)s + 2 * (g - 1) + j, 'BR' || g || '-' || j, %(o)s + g, 300 + (g %% 40) * 25, 100, 0,
       0, (ARRAY['purchase', 'cash', 'installment'])[1 + (g + j) %% 3],
       '商户 ' || ((g * 7 + j) %% 500),
       CASE WHEN (g + j) %% 3 = 0 THEN 'partner_api' ELSE 'app' END,
       CASE WHEN (g + j) %% 3 = 0 THEN 'PI-' || lpad(((g + j) %% 20)::text, 3, '0') ELSE '' END,
       'posted', now() - make_interval(days => 20 + g %% 700), NULL, false
FROM generate_series(1, %(n)s) g CROSS JOIN generate_series(1, 2) j
"""
# Complaint g: account (g - 1) / 2 + 1, received over the last 730 days (g %% 730 days ago);
# decided d = g %% 29 days after receipt (so some past their 15 days) and open until then,
# closed after 25 days, a few withdrawn.
_COMPLAINTS = """
INSERT INTO complaints_complaint (id, reference, customer_id, account_id, category, channel,
    status, outcome, description, account_compromised, received_at, acknowledged_at, clock_days,
    paused_days, paused_at, pause_reason, due_at, extension_request_reason, decision_text,
    root_cause, decided_at, closed_at, assignee_id, drafted_by_id)
SELECT %(o)s + g, 'BR' || lpad(g::text, 10, '0'), %(o)s + acct, %(o)s + acct, category, channel,
       status,
       CASE WHEN status IN ('received', 'investigating') THEN ''
            WHEN status = 'withdrawn' THEN 'withdrawn'
            ELSE (ARRAY['upheld', 'partially_upheld', 'rejected', 'rejected'])[1 + g %% 4] END,
       'The customer describes what happened.', false, received_at, received_at + interval '2 minutes',
       clock_days, paused_days, NULL, '',
       received_at + make_interval(days => clock_days + paused_days), '',
       CASE WHEN decided THEN 'The decision.' ELSE '' END,
       CASE WHEN decided THEN (ARRAY['partner_interface', 'weak_authentication', 'missing_consent',
            'risk_model_error', 'third_party_fraud', 'customer_error', 'other'])[1 + g %% 7]
            ELSE '' END,
       -- Decided 0..28 days after receipt (still open until then): a day's worth today.
       CASE WHEN decided THEN LEAST(received_at + make_interval(days => g %% 29, hours => 3), now())
            END,
       CASE WHEN status = 'closed' THEN LEAST(received_at + interval '25 days', now())
            WHEN status = 'withdrawn' THEN received_at + interval '2 days' END,
       CASE WHEN status = 'received' THEN NULL ELSE (%(agents)s::bigint[])[1 + g %% 10] END,
       CASE WHEN decided THEN (%(agents)s::bigint[])[1 + (g + 3) %% 10] END
FROM (
    SELECT g, acct, received_at, category, channel, clock_days, paused_days, status,
           status IN ('decided', 'closed', 'under_review') AS decided
    FROM (
        SELECT g, (g - 1) / 2 + 1 AS acct,
               now() - make_interval(days => g %% 730, mins => (g * 37) %% 1440) AS received_at,
               (ARRAY['unauthorized_loan', 'unauthorized_loan', 'unauthorized_loan',
                      'unauthorized_loan', 'closure', 'billing', 'billing', 'service', 'privacy',
                      'other'])[1 + g %% 10] AS category,
               (ARRAY['portal', 'portal', 'api', 'phone', 'letter'])[1 + (g / 10) %% 5] AS channel,
               CASE WHEN g %% 50 = 7 THEN 60 WHEN g %% 10 = 3 THEN 30 ELSE 15 END AS clock_days,
               CASE WHEN g %% 17 = 0 THEN 2 ELSE 0 END AS paused_days,
               CASE WHEN g %% 730 <= g %% 29 THEN (ARRAY['received', 'investigating'])[1 + g %% 2]
                    WHEN g %% 41 = 0 THEN 'withdrawn'
                    WHEN g %% 730 < 40 THEN 'decided'
                    WHEN g %% 97 = 0 THEN 'under_review'
                    ELSE 'closed' END AS status
        FROM generate_series(1, %(m)s) g
    ) s
) c
"""
_DISPUTED = """
INSERT INTO complaints_disputeditem (complaint_id, loan_id, outcome, reasons,
    reversed_outstanding, refunded_repaid, refunded_fees, refunded_interest, applied_at)
SELECT c.id, %(o)s + 2 * (c.account_id - %(o)s - 1) + j,
       CASE WHEN c.decided_at IS NULL THEN '' WHEN c.outcome = 'rejected' THEN 'rejected'
            WHEN c.outcome = 'partially_upheld' AND j = 2 THEN 'rejected' ELSE 'upheld' END,
       '', 0, 0, 0, 0, c.decided_at
FROM complaints_complaint c CROSS JOIN generate_series(1, 2) j
WHERE c.category = 'unauthorized_loan' AND (j = 1 OR c.id %% 2 = 0)
"""
_OBJECTIONS = """
INSERT INTO accounts_creditreportcorrection (account_id, loan_id, kind, status, reason, origin,
    opened_at, due_at, settled_at)
SELECT c.account_id, d.loan_id, 'objection',
       CASE WHEN c.status = 'withdrawn' THEN 'withdrawn' WHEN c.decided_at IS NULL THEN 'open'
            ELSE 'settled' END,
       'The customer disputes this loan record.', 'complaint:' || c.reference, c.received_at,
       c.received_at + interval '20 days',
       CASE WHEN c.status = 'withdrawn' THEN c.closed_at ELSE c.decided_at END
FROM complaints_disputeditem d JOIN complaints_complaint c ON c.id = d.complaint_id
"""
_COMPENSATIONS = """
INSERT INTO complaints_compensation (complaint_id, amount, reason, proposed_by_id, paid_at)
SELECT id, 50 + id %% 200, 'Compensation for the trouble.', drafted_by_id, decided_at
FROM complaints_complaint WHERE decided_at IS NOT NULL AND outcome = 'upheld' AND id %% 25 = 0
"""
_REVIEWS = """
INSERT INTO complaints_verificationrequest (complaint_id, grounds, status, outcome,
    decision_text, handler_id, received_at, due_at, decided_at)
SELECT id, 'I do not agree.', CASE WHEN status = 'under_review' THEN 'submitted' ELSE 'decided' END,
       CASE WHEN status = 'under_review' THEN '' WHEN id %% 3 = 0 THEN 'upheld' ELSE 'dismissed' END,
       '', NULL, decided_at + interval '3 days', decided_at + interval '33 days',
       CASE WHEN status = 'under_review' THEN NULL ELSE decided_at + interval '10 days' END
FROM complaints_complaint
WHERE decided_at IS NOT NULL AND (status = 'under_review' OR id %% 33 = 0)
  AND decided_at < now() - interval '10 days'
"""
_NOTICES = """
INSERT INTO notices_notice (event, address, channel, language, object_id, idempotency_key,
    subject, body, sealed_body, sensitive, status, attempts, next_attempt_at, last_error,
    provider_message_id, sent_at, created_at, content_type_id, recipient_id)
SELECT ev, '', (ARRAY['portal', 'email', 'sms'])[1 + (id + k) %% 3], 'zh-hans', id::text,
       ev || ':' || id, '您的投诉', '通知正文', '', false,
       CASE WHEN (id + k) %% 97 = 0 THEN 'failed' WHEN (id + k) %% 501 = 0 THEN 'sending'
            ELSE 'sent' END, 1, at, '', '', at, at, %(ct)s, customer_id + 0
FROM (
    SELECT c.id, cu.user_id AS customer_id, k,
           CASE k WHEN 1 THEN 'complaint.acknowledged' ELSE 'complaint.decided' END AS ev,
           CASE k WHEN 1 THEN c.acknowledged_at ELSE c.decided_at END AS at
    FROM complaints_complaint c JOIN accounts_customer cu ON cu.id = c.customer_id
         CROSS JOIN generate_series(1, 2) k
    WHERE k = 1 OR c.decided_at IS NOT NULL
) n
"""
# Closure r of account r (one per account): reason, status and source by r.
_CLOSURES = """
INSERT INTO closures_closurerequest (id, account_id, reason, status, source, proposed_by_id,
    approved_by_id, explanation, internal_note, evidence, froze_account, notice_days, created_at,
    approved_at, effective_at, took_effect_at, closed_at, ended_at, notice_sent_at,
    appeal_deadline, reported_to_bureau, pre_status)
SELECT %(o)s + r, %(o)s + r, reason, status, source, (%(agents)s::bigint[])[1 + r %% 10],
       CASE WHEN status IN ('closing', 'closed', 'reversed') THEN (%(agents)s::bigint[])[1 + (r + 1) %% 10] END,
       'Explanation.', '', '[]'::jsonb, false, 7, created_at,
       CASE WHEN status IN ('closing', 'closed', 'reversed') THEN created_at + interval '1 day' END,
       created_at + interval '7 days',
       CASE WHEN status IN ('closing', 'closed', 'reversed') THEN created_at + interval '7 days' END,
       CASE WHEN status IN ('closed', 'reversed') THEN created_at + interval '7 days' END,
       CASE WHEN status IN ('rejected', 'withdrawn', 'reversed') THEN created_at + interval '9 days' END,
       created_at + interval '7 days', created_at + interval '37 days', false, 'active'
FROM (
    SELECT r, now() - make_interval(days => 8 + r %% 700) AS created_at,
           (ARRAY['customer_request', 'suspected_fraud', 'overdue', 'security_risk',
                  'policy_high_risk', 'product_change'])[1 + r %% 6] AS reason,
           (ARRAY['closed', 'closed', 'closing', 'rejected', 'withdrawn', 'reversed', 'closed',
                  'closed'])[1 + (r / 6) %% 8] AS status,
           (ARRAY['customer', 'risk_engine', 'risk_scan', 'risk_officer', 'agent'])[1 + r %% 5]
           AS source
    FROM generate_series(1, %(k)s) r
) s
"""
_APPEALS = """
INSERT INTO closures_appeal (reference, closure_id, filed_by_id, grounds, attachment,
    attachment_content_type, attachment_name, status, filed_at, due_at, decided_at,
    decision_text, decided_by_id)
SELECT 'BA' || c.id, c.id, %(o)s + (c.account_id - %(o)s), 'Grounds.', '', '', '',
       CASE WHEN c.status = 'reversed' THEN 'upheld' WHEN c.id %% 9 = 0 THEN 'submitted'
            ELSE 'dismissed' END,
       c.took_effect_at + interval '2 days', c.took_effect_at + interval '17 days',
       CASE WHEN c.status = 'reversed' OR c.id %% 9 <> 0
            THEN c.took_effect_at + make_interval(days => (3 + c.id %% 20)::int) END,
       '', CASE WHEN c.status = 'reversed' OR c.id %% 9 <> 0 THEN (%(agents)s::bigint[])[1] END
FROM closures_closurerequest c
WHERE c.status = 'reversed' OR (c.status IN ('closed', 'closing') AND c.id %% 3 = 0)
"""
_CLOSURE_ALERTS = """
INSERT INTO closures_closurealert (rule, key, closure_id, staff_id, details, raised_at)
SELECT (ARRAY['staff_burst', 'daily_spike', 'no_risk_signal'])[1 + a %% 3], 'bench:' || a,
       %(o)s + a, NULL, '{}'::jsonb, now() - make_interval(days => a %% 700)
FROM generate_series(1, %(alerts)s) a
"""
_INCIDENT_ALERTS = """
INSERT INTO complaints_incidentalert (dimension, value, complaint_count, window_start, raised_at)
SELECT CASE WHEN a %% 2 = 0 THEN 'partner_interface' ELSE 'merchant' END,
       CASE WHEN a %% 2 = 0 THEN 'PI-' || lpad((a %% 20)::text, 3, '0') ELSE '商户 ' || (a %% 500) END,
       5 + a %% 7, now() - make_interval(days => a %% 700, hours => 24),
       now() - make_interval(days => a %% 700)
FROM generate_series(1, %(alerts)s) a
"""


def _get(url: str, cookie: str) -> tuple[float, int, bytes]:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url, headers={"Cookie": cookie, "X-Forwarded-Proto": "https"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310
        body = response.read()
        status = response.status
    return (time.perf_counter() - started) * 1000, status, body


def _time(label: str, url: str, cookie: str, repeat: int) -> None:
    _ms, _status, body = _get(url, cookie)  # warm up, and check it is the report itself
    if not (body.startswith(b"\xef\xbb\xbf") or b'class="reports' in body):
        raise SystemExit(f"{label}: not a report page (is the manager signed in?)")
    runs = [_get(url, cookie) for _ in range(repeat)]
    median = statistics.median(ms for ms, _status, _body in runs)
    size = len(runs[0][2])
    print(
        f"{label}: median {median:.1f} ms over {repeat} ({runs[0][1]}, {size:,} bytes), "
        f"{median / BUDGET_MS:.2f}× the {BUDGET_MS:.0f} ms budget",
        flush=True,
    )


def _history_of_today(cursor) -> None:
    """History rows for the complaints received or decided today (as the services write them):
    today's live figures find the day's rows through history_date."""
    from complaints.models import Complaint

    model = Complaint.history.model
    skip = {"history_id", "history_date", "history_change_reason", "history_type", "history_user"}
    columns = [f.column for f in model._meta.concrete_fields if f.name not in skip]
    cursor.execute(
        f"""
        INSERT INTO {model._meta.db_table} ({", ".join(columns)}, history_date,
            history_change_reason, history_type, history_user_id)
        SELECT {", ".join(columns)}, GREATEST(received_at, COALESCE(decided_at, received_at)),
               'bench', '~', NULL
        FROM complaints_complaint
        WHERE received_at >= date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai')
                             AT TIME ZONE 'Asia/Shanghai'
           OR decided_at >= date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai')
                            AT TIME ZONE 'Asia/Shanghai'
        """  # noqa: S608 - our own column names
    )


def _seed(complaints: int) -> None:
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    from accounts.staff import staff_upsert
    from complaints.models import Complaint
    from core import crypto
    from core.audit import system_actor

    actor = system_actor("bench")
    agents = [
        staff_upsert(actor=actor, reason="bench", username=f"bench-agent-{i}", role="agent")[0].pk
        for i in range(10)
    ]
    accounts = (complaints + 1) // 2
    params = {
        "o": OFFSET,
        "n": accounts,
        "m": complaints,
        "k": max(complaints // 10, 1),
        "agents": agents,
        "nid": crypto.encrypt("110105199001010000"),
        "phone": crypto.encrypt("13800000000"),
        "alerts": max(complaints // 2000, 10),
        "ct": ContentType.objects.get_for_model(Complaint).pk,
    }
    steps = [
        ("users", _USERS),
        ("customers", _CUSTOMERS),
        ("accounts", _ACCOUNTS),
        ("loan records", _LOANS),
        ("complaints", _COMPLAINTS),
        ("disputed records", _DISPUTED),
        ("objections", _OBJECTIONS),
        ("compensations", _COMPENSATIONS),
        ("reviews", _REVIEWS),
        ("notices", _NOTICES),
        ("closures", _CLOSURES),
        ("appeals", _APPEALS),
        ("closure alerts", _CLOSURE_ALERTS),
        ("incident alerts", _INCIDENT_ALERTS),
    ]
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for label, sql in steps:
            t0 = time.perf_counter()
            cursor.execute(sql, params)
            print(
                f"  {label}: {cursor.rowcount:,} rows in {time.perf_counter() - t0:.1f} s",
                flush=True,
            )
        _history_of_today(cursor)
        print(f"  today's history rows: {cursor.rowcount:,}", flush=True)
    print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
    old = connection.connection.autocommit
    connection.connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.connection.autocommit = old


def _rollup() -> None:
    from django.utils import timezone

    from backoffice.reports.complaint_figures import report_rollup_refresh

    started = time.perf_counter()
    result = report_rollup_refresh(now=timezone.now())
    print(f"rollup (what the first sweep does): {result} in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    result = report_rollup_refresh(now=timezone.now())
    print(
        f"rollup, nothing left to roll (every later sweep): {(time.perf_counter() - started) * 1000:.1f} ms"
    )


def _serve(database_url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": SECRET_KEY,
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    # DEBUG off serves static files from the manifest: collect them as gunicorn will see them.
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "backoffice.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            _get(f"{base}/healthz", "")
            break
        except OSError:
            time.sleep(0.2)
    return server, base


def _profile(threshold_ms: float) -> None:
    """In-process: each report's slowest query, with EXPLAIN ANALYZE when over the threshold."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from backoffice.reports import REPORTS
    from backoffice.reports.dashboard import dashboard
    from backoffice.reports.params import report_params
    from backoffice.reports.regulatory import default_month

    now = timezone.now()
    builds = {"dashboard": lambda: dashboard(now)}
    for name, report in REPORTS.items():
        params = report_params({}, today=timezone.localdate(), filters=report.filters())
        if not report.ranged:
            params.filters["month"] = default_month(timezone.localdate())
        builds[name] = lambda report=report, params=params: report.build(params, now)
    for name, build in builds.items():
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            build()
            total = (time.perf_counter() - started) * 1000
        slowest = max(ctx.captured_queries, key=lambda q: float(q["time"]))
        ms = float(slowest["time"]) * 1000
        print(
            f"  {name}: {len(ctx.captured_queries)} queries, {total:.0f} ms in-process; slowest {ms:.0f} ms"
        )
        if ms > threshold_ms:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN ANALYZE " + slowest["sql"])
                print("    " + slowest["sql"][:400])
                for (line,) in cursor.fetchall()[:25]:
                    print("    " + line)


def _pages() -> list[tuple[str, str]]:
    from backoffice.reports import REPORTS

    pages = [("dashboard", "/admin/reports/")]
    for name in REPORTS:
        pages.append((f"{name} (HTML)", f"/admin/reports/{name}/"))
        pages.append((f"{name} (CSV)", f"/admin/reports/{name}/?format=csv"))
    pages.append(("sla, one year by month (HTML)", "/admin/reports/sla/?from={year_ago}"))
    return pages


def _run(database_url: str, args: argparse.Namespace, *, seed: bool) -> None:
    django_setup()
    from django.core.management import call_command
    from django.utils import timezone

    if seed:
        call_command("migrate", verbosity=0)
        _seed(args.complaints)
        if not args.no_rollup:
            _rollup()
    _profile(args.explain_over)
    cookie = manager_session_cookie()
    server, base = _serve(database_url)
    year_ago = (timezone.localdate() - timedelta(days=365)).isoformat()
    try:
        print(
            f"{args.complaints if seed else 'seeded'} complaints, "
            f"rollup {'off' if args.no_rollup else 'on'}; load average {load_average()}"
        )
        for label, path in _pages():
            _time(label, base + path.format(year_ago=year_ago), cookie, args.repeat)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench reports")
    parser.add_argument("--complaints", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-rollup", action="store_true", help="time the live queries alone")
    parser.add_argument(
        "--explain-over", type=float, default=250.0, help="EXPLAIN queries slower (ms)"
    )
    parser.add_argument(
        "--seeded",
        action="store_true",
        help="time the database of DATABASE_URL as it is (seeded before; no scratch database)",
    )
    args = parser.parse_args(argv)
    # The server-side session is signed with the key gunicorn runs with.
    os.environ["SECRET_KEY"] = SECRET_KEY
    if args.seeded:
        _run(os.environ["DATABASE_URL"], args, seed=False)
        return
    with scratch_database("bench_reports") as database_url:
        _run(database_url, args, seed=True)


if __name__ == "__main__":
    main()
