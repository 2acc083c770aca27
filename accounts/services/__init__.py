"""Every write of the ledger: accounts is its only owner (STYLE.md "Our layout").

Split by sub-domain; this package re-exports every public name, so both
`from accounts import services; services.loan_record(...)` and
`from accounts.services import account_freeze` work:

- `customers`: customer creation, account opening, signing a user out everywhere.
- `loans`: posting a loan with its authorization trail, dispute / undispute, reversal, and the
  one rule of what a loan that stands again is (`loan_settled_status`).
- `holds`: freeze / unfreeze, status changes, lending ended by a closure and restored by an
  appeal (`AccountSnapshot`), closing.
- `repayments`: repayments, which fire `accounts.hooks.balance_settled` at a zero balance.
- `risk`: risk signals raised and overruled.
- `credit_reports`: credit-bureau objection marks and corrections.
- `common`: references, transition checks and the balance formulas, each written once.

Entry points (`loan_record`, `repayment_record`, `account_freeze`, `risk_signal_raise`...) are
transactions that lock what they change. The functions that complaints and closures compose
into their own transitions (`loan_dispute`, `loans_reverse`, `account_lending_end`,
`objections_settle`...) run inside the caller's transaction, expect it to hold the account's
lock (accounts.locks, in the documented global order) and lock what they fetch by pk. All take
keyword-only arguments and record the actor and reason they are given in history.
"""

from .common import account_transition_check, loan_transition_check
from .credit_reports import (
    correction_open,
    objection_open,
    objections_settle,
    objections_withdraw,
)
from .customers import account_number_new, account_open, customer_create, user_sessions_revoke
from .holds import (
    AccountSnapshot,
    account_close,
    account_freeze,
    account_lending_end,
    account_lending_restore,
    account_set_status,
    account_unfreeze,
)
from .loans import (
    AuthorizationInput,
    LoanReversal,
    loan_dispute,
    loan_record,
    loan_settled_status,
    loan_undispute,
    loans_reverse,
)
from .repayments import repayment_record
from .risk import risk_signal_raise, risk_signals_overrule

__all__ = [
    "AccountSnapshot",
    "AuthorizationInput",
    "LoanReversal",
    "account_close",
    "account_freeze",
    "account_lending_end",
    "account_lending_restore",
    "account_number_new",
    "account_open",
    "account_set_status",
    "account_transition_check",
    "account_unfreeze",
    "correction_open",
    "customer_create",
    "loan_dispute",
    "loan_record",
    "loan_settled_status",
    "loan_transition_check",
    "loan_undispute",
    "loans_reverse",
    "objection_open",
    "objections_settle",
    "objections_withdraw",
    "repayment_record",
    "risk_signal_raise",
    "risk_signals_overrule",
    "user_sessions_revoke",
]
