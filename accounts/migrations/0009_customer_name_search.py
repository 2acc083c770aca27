"""Indexes for the staff search by customer name (complaints/search.py): the name is stored in
clear (only the national ID and the phone are encrypted, searched by their blind indexes), so
a prefix in any case is served by a btree on UPPER(name) with text_pattern_ops (the database's
collation is not C, so a plain btree does not serve LIKE), and a substring of 3+ characters by a
pg_trgm GIN index on UPPER(name) (pg_trgm hashes CJK characters into trigrams too).

PostgreSQL only (the SQLite of `make run` has neither opclasses nor GIN); not declared in
Customer.Meta, so a SQLite table rebuild never tries to create them."""

from django.db import migrations

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS customer_name_upper_idx "
    "ON accounts_customer (UPPER(name) text_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS customer_name_trgm_idx "
    "ON accounts_customer USING gin (UPPER(name) gin_trgm_ops)",
]
DROP = [
    "DROP INDEX IF EXISTS customer_name_trgm_idx",
    "DROP INDEX IF EXISTS customer_name_upper_idx",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_ledger_feed"),
    ]

    operations = [
        migrations.RunPython(_run(CREATE), _run(DROP), elidable=False),
    ]
