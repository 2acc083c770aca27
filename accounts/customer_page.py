"""A customer's whole relationship on one admin page (the customer's change page): the registry
of its sections, and the ledger's own sections (accounts, loans, notices sent).

The stories' sections (complaints, closures, appeals) live above accounts, which may not import
them (STYLE.md "Our layout"): the back-office layer registers them in its `AppConfig.ready()`
(backoffice/customer_page.py). Each provider answers one section with a bounded number of
queries (one, as a rule) or None when the staff member may not read it, so the page costs the
same few queries whatever the customer holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from notices.enums import Channel as NoticeChannel
from notices.enums import NoticeStatus
from notices.models import Notice

from .enums import AccountStatus, LoanKind, LoanStatus
from .models import CreditAccount, Customer, LoanRecord

# (*, customer, user) -> Section | None (None: the user may not read this section)
SectionProvider = Callable[..., "Section | None"]
# Loans and notices shown on the page, newest first; the rest behind the "more" link.
RECENT_LOANS = 10
RECENT_NOTICES = 10


@dataclass(frozen=True)
class Cell:
    text: str
    url: str = ""
    badge: bool = False  # shown as a flag (e.g. "repeat")


BADGE_STYLE = (
    "display:inline-block;background:#fff4e5;color:#8a4b00;border:1px solid #e0a040;"
    "border-radius:9px;padding:0 7px;font-size:11px;white-space:nowrap"
)


def _cell_html(cell: Cell) -> str:
    text = escape(cell.text)
    if cell.url:
        return f'<td><a href="{escape(cell.url)}">{text}</a></td>'
    if cell.badge:
        return f'<td><span class="repeat-badge" style="{BADGE_STYLE}">{text}</span></td>'
    return f"<td>{text}</td>"


@dataclass
class Section:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    empty: str = ""
    more_url: str = ""
    more_label: str = ""

    def body_html(self) -> SafeString:
        """The table's rows, escaped here in one pass (a template loop over every cell of 50
        rows costs more than the section's query)."""
        return mark_safe(  # noqa: S308 - every value escaped by _cell_html
            "".join("<tr>" + "".join(map(_cell_html, row)) + "</tr>" for row in self.rows)
        )


_providers: list[tuple[int, str, SectionProvider]] = []


def customer_page_section(order: int, key: str, provider: SectionProvider) -> SectionProvider:
    """Register (or replace) the provider of section `key`; sections show by `order`."""
    _providers[:] = [p for p in _providers if p[1] != key]
    _providers.append((order, key, provider))
    _providers.sort(key=lambda p: (p[0], p[1]))
    return provider


def customer_page_sections(*, customer: Customer, user: Any) -> list[Section]:
    sections = []
    for _order, _key, provider in list(_providers):
        section = provider(customer=customer, user=user)
        if section is not None:
            sections.append(section)
    return sections


# --- Formatting shared by the sections ----------------------------------------------------------


def money(value: Any) -> str:
    return "—" if value is None else f"¥{value:,.2f}"


def when(value: Any, with_time: bool = False) -> str:
    """A date (or date and time) in the site's time zone (Asia/Shanghai), as 2026-12-01."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = localtime(value)
        return value.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")
    return value.strftime("%Y-%m-%d")


def labels(choices: type[models.Choices]) -> dict[str, str]:
    """value -> translated label, translated once per page (get_FOO_display() hashes every
    lazy label of the field on each call)."""
    return {value: str(label) for value, label in choices.choices}


def admin_url(name: str, pk: Any) -> str:
    return reverse(f"admin:{name}_change", args=[pk])


def change_urls(name: str) -> Callable[[Any], str]:
    """pk -> the admin change page of `name` ("app_model"), with one reverse() per section."""
    base = reverse(f"admin:{name}_changelist")
    return lambda pk: f"{base}{pk}/change/"


def with_more(
    section: Section, rows: list[list[Cell]], shown: int, url: str, label: str
) -> Section:
    """Keep `shown` rows; a "more" link when the provider fetched one row beyond them."""
    section.rows = rows[:shown]
    if len(rows) > shown:
        section.more_url, section.more_label = url, label
    return section


# --- The ledger's sections ----------------------------------------------------------------------


def accounts_section(*, customer: Customer, user: Any) -> Section | None:
    if not user.has_perm("accounts.view_creditaccount"):
        return None
    accounts = (
        CreditAccount.objects.filter(customer_id=customer.pk)
        .select_related("delinquency")
        .order_by("opened_at", "pk")
    )
    status = labels(AccountStatus)
    rows = []
    for account in accounts:
        figures = getattr(account, "delinquency", None)
        rows.append(
            [
                Cell(account.number_masked, admin_url("accounts_creditaccount", account.pk)),
                Cell(status.get(account.status, account.status)),
                Cell(money(account.credit_limit)),
                Cell(money(account.outstanding_balance)),
                Cell(money(account.available_credit)),
                Cell(str(figures.overdue_count if figures else 0)),
                Cell(money(figures.amount_past_due if figures else None)),
                Cell(when(account.opened_at)),
            ]
        )
    return Section(
        key="accounts",
        title=_("Accounts"),
        columns=[
            _("Account"),
            _("Status"),
            _("Credit limit"),
            _("Outstanding"),
            _("Available"),
            _("Overdue count"),
            _("Amount past due"),
            _("Opened on"),
        ],
        rows=rows,
        empty=_("No accounts."),
    )


def loans_section(*, customer: Customer, user: Any) -> Section | None:
    if not user.has_perm("accounts.view_loanrecord"):
        return None
    loans = (
        LoanRecord.objects.filter(account__customer_id=customer.pk)
        .select_related("account")
        .only(
            "pk",
            "reference",
            "amount",
            "outstanding_amount",
            "kind",
            "merchant",
            "status",
            "created_at",
            "account__number",
        )
        .order_by("-created_at", "-pk")[: RECENT_LOANS + 1]
    )
    kind, status = labels(LoanKind), labels(LoanStatus)
    url = change_urls("accounts_loanrecord")
    rows = [
        [
            Cell(loan.reference, url(loan.pk)),
            Cell(loan.account.number_masked),
            Cell(when(loan.created_at, with_time=True)),
            Cell(money(loan.amount)),
            Cell(money(loan.outstanding_amount)),
            Cell(kind.get(loan.kind, loan.kind)),
            Cell(loan.merchant or "—"),
            Cell(status.get(loan.status, loan.status)),
        ]
        for loan in loans
    ]
    section = Section(
        key="loans",
        title=_("Loan records (newest first)"),
        columns=[
            _("Loan"),
            _("Account"),
            _("Created at"),
            _("Amount"),
            _("Outstanding"),
            _("Kind"),
            _("Merchant"),
            _("Status"),
        ],
        empty=_("No loan records."),
    )
    more = reverse("admin:accounts_loanrecord_changelist") + (
        f"?account__customer__id__exact={customer.pk}"
    )
    return with_more(section, rows, RECENT_LOANS, more, _("All loan records"))


def notices_section(*, customer: Customer, user: Any) -> Section | None:
    if not user.has_perm("notices.view_notice"):
        return None
    notices = (
        Notice.objects.filter(recipient_id=customer.user_id)
        .only("pk", "subject", "channel", "status", "created_at", "sent_at")
        .order_by("-created_at", "-pk")[: RECENT_NOTICES + 1]
    )
    channel, status = labels(NoticeChannel), labels(NoticeStatus)
    url = change_urls("notices_notice")
    rows = [
        [
            Cell(notice.subject or "—", url(notice.pk)),
            Cell(channel.get(notice.channel, notice.channel)),
            Cell(status.get(notice.status, notice.status)),
            Cell(when(notice.created_at, with_time=True)),
            Cell(when(notice.sent_at, with_time=True)),
        ]
        for notice in notices
    ]
    section = Section(
        key="notices",
        title=_("Notices sent (newest first)"),
        columns=[_("Subject"), _("Channel"), _("Status"), _("Created at"), _("Sent at")],
        empty=_("No notices."),
    )
    more = reverse("admin:notices_notice_changelist") + f"?recipient__id__exact={customer.user_id}"
    return with_more(section, rows, RECENT_NOTICES, more, _("All notices"))


customer_page_section(10, "accounts", accounts_section)
customer_page_section(20, "loans", loans_section)
customer_page_section(60, "notices", notices_section)
