"""Registries through which the apps above accounts react to what happens in the ledger, without
accounts importing them (STYLE.md: imports point down only). Each higher app fills them in its
`AppConfig.ready()`.

- Balance settled: `repayment_record` (and any later credit) calls every handler, under the
  account's lock and in the same transaction, when an account's outstanding balance reaches zero.
  closures registers `closure_settle_on_zero_balance` (a `closing` account becomes `closed`).
- Stakes: who must not handle a case about an account (PRODUCT.md "Nobody handles a case in which
  they have a stake"). closures registers the staff who proposed or approved a closure of it;
  complaints asks `staff_with_stake(account_id=...)` before any action.
- Cases about an account: each story app registers a provider of its cases about an account
  (objects with `__str__` and `get_status_display()`), so another app's page can list them
  (the closure page lists the account's complaints) without importing that app.
- Staff departures: `staff_deactivate` (accounts/staff.py) calls every handler, in its
  transaction, with the departing member; complaints registers the release of their open cases
  back to the unassigned queue.
- Demo stories: `manage.py seed_demo` (accounts/demo.py) lets the app that owns a story play
  it on a demo account (closures registers "closed_for_overdue": Bob's closure, run through its
  real services); without one, the demo sets the account state alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

BalanceSettledHandler = Callable[..., None]  # (*, account, actor) -> None
StakeProvider = Callable[..., set[int]]  # (*, account_id) -> user ids
CaseProvider = Callable[..., list[Any]]  # (*, account_id, limit) -> cases, newest first
DemoStory = Callable[..., Any]  # (*, account, actor) -> anything
StaffDepartureHandler = Callable[..., Any]  # (*, user, actor, reason) -> anything

_balance_settled_handlers: list[BalanceSettledHandler] = []
_stake_providers: list[StakeProvider] = []
_case_providers: dict[str, CaseProvider] = {}
_demo_stories: dict[str, DemoStory] = {}
_staff_departure_handlers: list[StaffDepartureHandler] = []


def on_staff_departure(handler: StaffDepartureHandler) -> StaffDepartureHandler:
    if handler not in _staff_departure_handlers:
        _staff_departure_handlers.append(handler)
    return handler


def staff_departed(*, user: Any, actor: Any, reason: str) -> None:
    for handler in list(_staff_departure_handlers):
        handler(user=user, actor=actor, reason=reason)


def on_balance_settled(handler: BalanceSettledHandler) -> BalanceSettledHandler:
    if handler not in _balance_settled_handlers:
        _balance_settled_handlers.append(handler)
    return handler


def balance_settled(*, account: Any, actor: Any) -> None:
    for handler in list(_balance_settled_handlers):
        handler(account=account, actor=actor)


def stake_provider(provider: StakeProvider) -> StakeProvider:
    if provider not in _stake_providers:
        _stake_providers.append(provider)
    return provider


def staff_with_stake(*, account_id: int) -> set[int]:
    """Ids of staff members with a stake in this account, from every registered provider."""
    ids: set[int] = set()
    for provider in list(_stake_providers):
        ids |= set(provider(account_id=account_id))
    return ids


def case_provider(kind: str, provider: CaseProvider) -> CaseProvider:
    _case_providers[kind] = provider
    return provider


def cases_about_account(kind: str, *, account_id: int, limit: int = 20) -> list[Any]:
    """The registered app's cases of `kind` (e.g. "complaints") about the account, or []."""
    provider = _case_providers.get(kind)
    return [] if provider is None else list(provider(account_id=account_id, limit=limit))


def demo_story(name: str, story: DemoStory) -> DemoStory:
    _demo_stories[name] = story
    return story


def demo_story_play(name: str, *, account: Any, actor: Any, **options: Any) -> bool:
    """Play the registered demo story `name` on the account (with the story's own keyword
    `options`, e.g. its dates); False when no app registered it."""
    story = _demo_stories.get(name)
    if story is None:
        return False
    story(account=account, actor=actor, **options)
    return True
