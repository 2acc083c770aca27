"""The ledger: customers, credit accounts, loans and their authorization trail, repayments,
holds, risk signals, credit-bureau objections and corrections. accounts is the only app that
writes these rows; complaints and closures call its services and never assign a balance, a loan
status or a correction field themselves. It imports `core` and `notices` only (import-linter's
layers contract); the apps above react to it through the registries in `hooks`.

- `models`, `enums`: the rows, their statuses and allowed transitions.
- `services/`: every write, split by sub-domain (customers, loans, holds, repayments, risk,
  credit_reports; `common` holds the transition checks and the balance formulas).
- `locks`: every `*_for_update()` helper, with the global lock order.
- `selectors`: access-scoped reads (another customer's rows do not exist).
- `hooks`: registries the apps above fill in `AppConfig.ready()` (balance settled, stakes,
  cases about an account, demo stories).
- `staff`: staff members, their TOTP devices, the logged reveal of personal data.
- `admin`, `views`, `api`, `forms`, `urls`: thin entry points; `demo`, `bulk_insert` and
  `management/commands`: demo data, key rotation, staff creation.
"""
