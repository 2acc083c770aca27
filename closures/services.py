"""Writes of the closures domain (to be built by the closures issue)."""

from __future__ import annotations


def closure_settle_on_zero_balance(*, account, actor) -> None:
    """Called by accounts.services.repayment_record, under the account's lock, when an account in
    `closing` reaches a zero balance. The closures issue implements it."""
    raise NotImplementedError("closures: settle on zero balance is not built yet")
