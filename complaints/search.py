"""The staff search of the complaints desk: one box that finds a case by its reference (a
prefix, any case), the customer's name (a prefix in any case, or a substring of 3+ characters),
the exact mobile phone or national ID (their blind indexes: the values are encrypted), a loan
record's reference or an account number. The queue (ComplaintAdmin.get_search_results) and the
phone and letter intake (the customer lookup) both use it.

Every lookup is served by an index, none scans a table (tests/admin/test_queue_search.py):

- reference prefix: the `_like` index (varchar_pattern_ops) Django makes for the unique
  `Complaint.reference`; references are stored upper case, so the term is upper-cased;
- name prefix / substring: `customer_name_upper_idx` (UPPER(name) text_pattern_ops) and
  `customer_name_trgm_idx` (pg_trgm GIN on UPPER(name)), accounts migration 0009;
- phone / national ID: `customer_phone_idx`, `customer_unique_national_id` (blind index);
- loan reference / account number: their unique indexes.

Customer, loan and account matches are resolved to customer ids first (at most
CUSTOMER_LIMIT: a very common name prefix is cut there; the exact lookups in one UNION ALL
statement), then complaints are found by customer id (complaint_customer_idx), so the complaint
table is never scanned.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.db import connection
from django.db.models import IntegerField, Q, QuerySet, Value
from django.db.models.functions import Upper

from accounts.models import CreditAccount, Customer, LoanRecord
from core import crypto

from .models import Complaint

# Longer input is cut (a reference is 18 characters, a name at most 100).
MAX_TERM_LENGTH = 100
# At most this many customers are matched by name (a prefix such as "王" matches many).
CUSTOMER_LIMIT = 200
# A substring search needs whole trigrams: shorter terms are matched as prefixes only.
TRIGRAM_MIN_LENGTH = 3

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_REFERENCE_LIKE = re.compile(r"^[A-Z0-9-]+$")
_PHONE_OR_ID = re.compile(r"^\+?[0-9]{7,17}[0-9X]?$")


@dataclass(frozen=True)
class SearchTerm:
    text: str  # cleaned: NFKC, no control characters, trimmed, at most MAX_TERM_LENGTH
    upper: str
    compact: str  # as the blind index normalizes it: no spaces or dashes, upper case

    def __bool__(self) -> bool:
        return bool(self.text)


def search_term(value: str | None) -> SearchTerm:
    """The cleaned form of what was typed (NUL bytes and other control characters dropped)."""
    text = unicodedata.normalize("NFKC", value or "")
    text = _CONTROL.sub("", text).strip()[:MAX_TERM_LENGTH].strip()
    return SearchTerm(text=text, upper=text.upper(), compact=crypto.normalize(text))


def _ranked(qs: QuerySet, column: str, rank: int, limit: int) -> QuerySet:
    """(customer id, rank) of the first `limit` rows of `qs`, for the exact-match UNION."""
    return qs.annotate(rank=Value(rank, output_field=IntegerField())).values_list(column, "rank")[
        :limit
    ]


def customer_ids_matching(value: str | SearchTerm, *, limit: int = CUSTOMER_LIMIT) -> list[int]:
    """Ids of the customers the term names, exact matches first (phone, national ID, account
    number, loan reference), then name prefixes, then (when nothing else matched) name substrings; at most `limit`."""
    term = value if isinstance(value, SearchTerm) else search_term(value)
    if not term:
        return []
    found: dict[int, None] = {}

    def add(ids) -> None:
        for pk in ids:
            found.setdefault(pk, None)

    # The exact matches, in this order: phone or national ID, account number, loan reference;
    # one statement (UNION ALL of the indexed lookups, each its own LIMIT) instead of three.
    exact: list[QuerySet] = []
    if _PHONE_OR_ID.match(term.compact):
        digest = crypto.blind_index(term.compact)
        by_pii = Q(phone_index=digest) | Q(national_id_index=digest)
        if term.compact.startswith("+86"):
            by_pii |= Q(phone_index=crypto.blind_index(term.compact[3:]))
        exact.append(_ranked(Customer.objects.filter(by_pii), "pk", 0, limit))
        exact.append(
            _ranked(CreditAccount.objects.filter(number=term.compact), "customer_id", 1, limit)
        )
    if _REFERENCE_LIKE.match(term.upper):
        loans = LoanRecord.objects.filter(reference__in={term.text, term.upper})
        exact.append(_ranked(loans, "account__customer_id", 2, limit))
    if exact and connection.features.supports_slicing_ordering_in_compound:
        rows = exact[0] if len(exact) == 1 else exact[0].union(*exact[1:], all=True)
        add(pk for pk, _rank in sorted(rows, key=lambda row: row[1]))
    else:  # SQLite (`make run`) refuses a LIMIT inside a compound statement: one by one
        for lookup in exact:
            add(pk for pk, _rank in lookup)
    if len(found) < limit and not term.compact.lstrip("+").isdigit():  # names have no digits
        names = Customer.objects.alias(upper_name=Upper("name"))
        add(
            names.filter(upper_name__startswith=term.upper).values_list("pk", flat=True)[
                : limit - len(found)
            ]
        )
        # Substrings only when no name starts so: a trigram search for a term whose trigrams
        # are in every name ("Customer 1...") reads the whole GIN index (245 ms at 1M).
        if not found and len(term.text) >= TRIGRAM_MIN_LENGTH:
            add(
                names.filter(upper_name__contains=term.upper)
                .exclude(pk__in=list(found))
                .values_list("pk", flat=True)[: limit - len(found)]
            )
    return list(found)[:limit]


def complaints_matching(queryset: QuerySet[Complaint], value: str | None) -> QuerySet[Complaint]:
    """`queryset` narrowed to the complaints the term finds (unchanged for an empty term)."""
    term = search_term(value)
    if not term:
        return queryset
    condition = Q(customer_id__in=customer_ids_matching(term))
    if _REFERENCE_LIKE.match(term.upper):
        condition |= Q(reference__startswith=term.upper)
    return queryset.filter(condition)
