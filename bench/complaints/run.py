"""The pages the complaints bench measures (the agents' queues, a case page, the customer API)
and the report: one line per page with its ratio to the budget, and for a page over budget its
slowest query explained."""

from __future__ import annotations

import argparse
import os
import time
from itertools import zip_longest
from urllib.parse import urlencode

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django_otp.oath import TOTP

from accounts.models import Customer, User
from accounts.staff import staff_upsert
from bench import load_average
from complaints.models import Complaint
from complaints.selectors import complaint_queue
from core import crypto
from core.audit import system_actor
from core.models import StaffTOTPDevice
from core.tokens import token_issue

from . import (
    API_BUDGET_MS,
    CASE_BUDGET_MS,
    CASE_QUERY_BUDGET,
    CUSTOMER_BUDGET_MS,
    LIST_QUERY_BUDGET,
    OTHER_AGENTS,
    QUEUE_BUDGET_MS,
    SEARCH_BUDGET_MS,
    STAFF_PASSWORD,
)
from .measure import Result, explain, measure
from .over_http import WORKERS, HttpUser, gunicorn, staff_login, workers_cpu_seconds
from .seed import SEEDED_NATIONAL_ID, SEEDED_PHONE, SEEDED_TABLES, seed

ADMIN_LIST = "/admin/complaints/complaint/"
FLOOR_LABEL = "floor: bare admin"
FLOOR_URL = "/admin/password_change/"
QUEUES = (
    ("queue: unassigned", "?queue=unassigned"),
    ("queue: mine", "?queue=mine"),
    ("queue: due soon", "?queue=due_soon"),
    ("queue: overdue", "?queue=overdue"),
    ("queue: all open", "?queue=open"),
    ("list: no filter", ""),
)


def _otp_token(user: User) -> str:
    """The agent's current TOTP code (the device's last used step forgotten: the bench signs in
    twice within 30 s, in-process and over HTTP)."""
    device = StaffTOTPDevice.objects.get(user=user)
    StaffTOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    totp = TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{totp.token():0{device.digits}d}"


def _staff_client(*, actor) -> tuple[Client, User]:
    user, _device = staff_upsert(
        actor=actor, reason="bench", username="bench-agent", role="agent", password=STAFF_PASSWORD
    )
    client = Client()
    response = client.post(
        "/admin/login/",
        {
            "username": user.username,
            "password": STAFF_PASSWORD,
            "otp_token": _otp_token(user),
            "next": "/admin/",
        },
    )
    if response.status_code != 302 or response["Location"] != "/admin/":
        raise SystemExit(f"staff login failed: {response.status_code}")
    return client, user


def _seeded_desk(args: argparse.Namespace) -> tuple[Client, User]:
    """Migrate, sign the bench agent in, seed; the agent's signed-in client."""
    call_command("migrate", verbosity=0)
    actor = system_actor("bench")
    staff_client, agent = _staff_client(actor=actor)
    others = [
        User.objects.get_or_create(username=f"bench-agent-{i}", defaults={"is_staff": True})[0]
        for i in range(OTHER_AGENTS)
    ]
    print(
        f"complaints bench: seeding {args.accounts:,} customers/accounts, "
        f"{args.loans_per_account} loan records each, {args.complaints:,} complaints",
        flush=True,
    )
    seed(
        accounts=args.accounts,
        complaints=args.complaints,
        loans_per_account=args.loans_per_account,
        agent_ids=[agent.pk] + [u.pk for u in others],
    )
    return staff_client, agent


def _case_ids(agent: User) -> list[int]:
    """Case pages to rotate over: the agent's own, disputed loans, closed cases."""
    mine = list(complaint_queue(queue="mine", user=agent).values_list("pk", flat=True)[:10])
    disputed = list(
        Complaint.objects.filter(category="unauthorized_loan", items__isnull=False)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .distinct()[:10]
    )
    closed = list(
        Complaint.objects.filter(status="closed").order_by("pk").values_list("pk", flat=True)[:10]
    )
    return [pk for trio in zip_longest(mine, disputed, closed) for pk in trio if pk]


def _api_pages(customer: Customer, repeat: int) -> list[tuple[str, list[str], bool]]:
    """(label, urls, is a list page) of the customer API, for the first customer."""
    account_id = customer.accounts.order_by("pk").first().pk
    own_refs = list(
        Complaint.objects.filter(customer=customer)
        .order_by("-received_at")
        .values_list("reference", flat=True)[:repeat]
    )
    return [
        ("API complaints", ["/api/v1/complaints/"], True),
        ("API complaint", [f"/api/v1/complaints/{ref}/" for ref in own_refs], False),
        ("API accounts", ["/api/v1/accounts/"], True),
        ("API account loans", [f"/api/v1/accounts/{account_id}/loans/"], True),
    ]


def _search_terms(customer: Customer) -> list[tuple[str, str]]:
    """(label, term) of the queue search: one of each kind the box finds."""
    account = customer.accounts.order_by("pk").first()
    loan = account.loans.order_by("pk").first()
    reference = Complaint.objects.order_by("-pk").values_list("reference", flat=True).first()
    return [
        ("search: reference", reference[:9].lower()),
        ("search: name", "Customer 123456"),
        ("search: phone", SEEDED_PHONE),
        ("search: national ID", SEEDED_NATIONAL_ID),
        ("search: loan ref", loan.reference),
        ("search: account", account.number),
    ]


def _customer_page(staff_client: Client, customer: Customer) -> list[str]:
    """The customer's whole relationship (helper D's page), if this build has it."""
    for url in (
        f"/admin/accounts/customer/{customer.pk}/",
        f"/admin/accounts/customer/{customer.pk}/change/",
    ):
        if staff_client.get(url).status_code == 200:
            return [url]
    return []


def _measure_pages(
    args: argparse.Namespace,
    staff_client: Client,
    case_ids: list[int],
    api_pages: list[tuple[str, list[str], bool]],
    token: str,
    customer: Customer,
) -> list[Result]:
    """Every page timed over HTTP through gunicorn (DEBUG off) as the signed-in agent or the
    customer's token; queries and EXPLAIN from one in-process request."""
    api = Client()
    auth = {"Authorization": f"Token {token}"}
    terms = _search_terms(customer)
    customer_urls = _customer_page(staff_client, customer)
    with gunicorn(os.environ["DATABASE_URL"]) as (base, master):
        agent_http = staff_login(
            base, username="bench-agent", password=STAFF_PASSWORD, otp_token=_otp_token(_agent())
        )
        customer_http = HttpUser(base)
        common = {
            "warmup": args.warmup,
            "repeat": args.repeat,
            "profile_top": args.profile,
            "server_cpu": lambda: workers_cpu_seconds(master),
        }
        staff = {**common, "http": agent_http}
        # The cost of any signed-in admin page on this machine, before its own reads: Django's
        # own password-change page (the session's user with its permissions, the OTP device, a
        # three-field form in the admin's layout). No budget: the pages' figures read against it.
        floor = measure(
            staff_client, FLOOR_LABEL, [FLOOR_URL], budget_ms=CASE_BUDGET_MS, list_page=False,
            **staff,
        )  # fmt: skip
        results = [
            measure(
                staff_client,
                label,
                [ADMIN_LIST + query],
                budget_ms=QUEUE_BUDGET_MS,
                list_page=True,
                **staff,
            )
            for label, query in QUEUES
        ]
        results.insert(0, floor)
        results.append(
            measure(
                staff_client,
                "case page",
                [f"{ADMIN_LIST}{pk}/change/" for pk in case_ids],
                budget_ms=CASE_BUDGET_MS,
                list_page=False,
                query_budget=CASE_QUERY_BUDGET,
                **staff,
            )
        )
        if customer_urls:
            results.append(
                measure(
                    staff_client,
                    "customer page",
                    customer_urls,
                    budget_ms=CUSTOMER_BUDGET_MS,
                    list_page=False,
                    **staff,
                )
            )
        else:
            print("customer page: /admin/accounts/customer/<id>/ does not answer 200; not timed")
        for label, term in terms:
            results.append(
                measure(
                    staff_client,
                    label,
                    [ADMIN_LIST + "?" + urlencode({"q": term})],
                    budget_ms=SEARCH_BUDGET_MS,
                    list_page=True,
                    **staff,
                )
            )
        for label, urls, is_list in api_pages:
            results.append(
                measure(
                    api,
                    label,
                    urls,
                    budget_ms=API_BUDGET_MS,
                    list_page=is_list,
                    headers=auth,
                    http=customer_http,
                    **common,
                )
            )
    return results


def _agent() -> User:
    return User.objects.get(username="bench-agent")


def _facts(agent: User) -> tuple[dict[str, int], int, dict[str, int]]:
    """Row counts of the seeded tables, open complaints, the agent's queue sizes (taken before
    the pages are measured, as they always were: the counts warm the same caches)."""
    counts = {}
    with connection.cursor() as cursor:
        for table in SEEDED_TABLES:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT COUNT(*) FROM complaints_complaint "
            "WHERE status IN ('received', 'investigating', 'pending_approval')"
        )
        open_count = cursor.fetchone()[0]
    queue_sizes = {
        q: complaint_queue(queue=q, user=agent).count()
        for q in ("unassigned", "mine", "due_soon", "overdue")
    }
    return counts, open_count, queue_sizes


def _print_settings(
    args: argparse.Namespace,
    facts: tuple[dict[str, int], int, dict[str, int]],
    customer: Customer,
) -> None:
    """What was measured against: row counts, queue sizes, the machine and the database."""
    counts, open_count, queue_sizes = facts
    print()
    print(
        f"settings: {counts['complaints_complaint']:,} complaints ({open_count:,} open), "
        f"{counts['accounts_creditaccount']:,} accounts/customers, "
        f"{counts['accounts_loanrecord']:,} loan records, "
        f"{counts['accounts_authorizationevent']:,} authorization events, "
        f"{counts['complaints_disputeditem']:,} disputed items, "
        f"{counts['complaints_caseevent']:,} case events, "
        f"{counts['complaints_internalnote']:,} notes, "
        f"{counts['complaints_verificationrequest']:,} review requests; "
        "history tables not seeded"
    )
    if args.accounts < 1_000_000:
        print(
            f"note: the product target is 1,000,000 accounts (--accounts 1000000); this run "
            f"used {args.accounts:,}"
        )
    print(
        "queues for the agent: "
        + ", ".join(f"{q} {n:,}" for q, n in queue_sizes.items())
        + f"; API customer: {customer.complaints.count()} complaints, "
        f"{customer.accounts.first().loans.count()} loan records"
    )
    _print_machine(args)


def _print_machine(args: argparse.Namespace) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        pg = cursor.fetchone()[0].split(" on ")[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
    print(
        f"machine: {os.cpu_count()} cores, load average {load_average()}; {pg}, "
        f"shared_buffers {buffers}; over HTTP through gunicorn ({WORKERS} sync workers, "
        f"DEBUG off, keep-alive), {args.warmup} warm-up + {args.repeat} timed requests each"
    )


def _print_table(results: list[Result]) -> None:
    print()
    header = (
        f"{'page':<20} {'median ms':>9} {'p95 ms':>7} {'server CPU':>10} {'budget':>7} "
        f"{'ratio':>5} "
        f"{'queries':>7} {'SQL share':>9} {'slowest query':>13}  verdict"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = r.median_ms / r.budget_ms
        query_budget = r.query_budget or (LIST_QUERY_BUDGET if r.list_page else None)
        over_queries = query_budget is not None and r.queries > query_budget
        verdict = "ok" if ratio <= 1 and not over_queries else "OVER"
        if r.name == FLOOR_LABEL:
            verdict = "reference: no budget"
        elif over_queries:
            verdict += f" (> {query_budget} queries)"
        print(
            f"{r.name:<20} {r.median_ms:>9.1f} {r.p95_ms:>7.1f} {r.cpu_ms:>8.1f}ms "
            f"{r.budget_ms:>5.0f}ms "
            f"{ratio:>5.2f} {r.queries:>7} {100 * r.sql_share:>8.0f}% "
            f"{r.slowest_ms:>10.1f} ms  {verdict}"
        )
    print(
        "(median/p95: wall-clock time of the whole HTTP request as the client sees it; server "
        "CPU: the gunicorn workers' mean CPU per request, PostgreSQL excluded; queries, SQL "
        "share (time inside the database driver over the request) and slowest query: one "
        "in-process request of the same page)"
    )
    floor = next((r for r in results if r.name == FLOOR_LABEL), None)
    if floor is not None:
        print(
            f"floor: {FLOOR_URL} (Django's own page: the signed-in user, the OTP device, a "
            f"three-field form in the admin's layout) answers in {floor.median_ms:.1f} ms "
            f"median on this machine, {floor.median_ms / CASE_BUDGET_MS:.2f}x the case page's "
            "budget; each page's median over it: "
            + ", ".join(
                f"{r.name} {r.median_ms / floor.median_ms:.1f}x"
                for r in results
                if r.name in ("queue: all open", "case page", "customer page", "search: name")
            )
        )
    print()


def _print_explanations(results: list[Result], *, explain_all: bool) -> None:
    """For each page over budget (or all): its slowest query explained, and its profile."""
    for r in results:
        if r.name == FLOOR_LABEL:
            continue
        if r.median_ms > r.budget_ms or explain_all:
            print(f"{r.name}: {r.url}")
            print(f"  slowest query ({r.slowest_ms:.1f} ms): {r.slowest_sql[:400]} ...")
            explained = explain(r.slowest_sql)
            print(explained)
            if r.sql_share < 0.35 and "no index serves" not in explained:
                print(
                    f"    the time is in Python, not in the database: SQL is "
                    f"{100 * r.sql_share:.0f}% of the request and the slowest query "
                    f"{r.slowest_ms:.1f} ms; an index would not bring it under budget"
                )
            if r.profile:
                print("    one request under cProfile, by cumulative time:")
                print(r.profile)
            print()


def run(args: argparse.Namespace, *, started: float) -> None:
    """Seed the scratch database, measure every page, print the report."""
    staff_client, agent = _seeded_desk(args)
    if args.seed_only:
        print(f"complaints bench: seeded in {time.perf_counter() - started:.0f} s")
        return
    # Measure like production: no query log, no debug pages (static storage and security
    # settings stay as loaded; the test client talks plain HTTP in-process).
    settings.DEBUG = False
    customer = Customer.objects.select_related("user").order_by("pk").first()
    assert customer is not None
    # The seeding writes placeholder blind indexes (md5): give the API customer the real ones
    # of the phone and national ID every seeded row carries, so the search finds them.
    Customer.objects.filter(pk=customer.pk).update(
        phone_index=crypto.blind_index(SEEDED_PHONE),
        national_id_index=crypto.blind_index(SEEDED_NATIONAL_ID),
    )
    _row, token = token_issue(user=customer.user)
    api_pages = _api_pages(customer, args.repeat)
    case_ids = _case_ids(agent)
    facts = _facts(agent)
    results = _measure_pages(args, staff_client, case_ids, api_pages, token, customer)
    _print_settings(args, facts, customer)
    _print_table(results)
    _print_explanations(results, explain_all=args.explain_all)
    print(f"complaints bench: total {time.perf_counter() - started:.0f} s")
