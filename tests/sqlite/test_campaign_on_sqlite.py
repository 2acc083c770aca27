"""A closure campaign runs on SQLite (`make run`): its batches take the ORM path there (SQLite
runs no INSERT inside a WITH: the set-based statement failed with `near "INSERT"`). Played as
the demo plays it: `seed_demo` on a fresh SQLite file runs the product_change campaign walk
(closures/demo.py) through the real services; the file is then read with sqlite3. That both
paths write the same rows is tests/closures/test_campaign_paths.py (on PostgreSQL)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "CELERY_", "CACHE_URL", "EMAIL_URL", "DJANGO_"))
    }
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
            "VAR_DIR": str(tmp / "var"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def test_the_demo_campaign_runs_on_sqlite(tmp_path):
    env = _env(tmp_path)
    for folder in ("mail", "sms", "uploads", "broker/out", "broker/processed", "broker/control"):
        (tmp_path / "var" / folder).mkdir(parents=True, exist_ok=True)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run(
        [*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, timeout=600,
        capture_output=True,
    )  # fmt: skip
    seeded = subprocess.run(
        [*manage, "seed_demo"], cwd=ROOT, env=env, timeout=600, capture_output=True, text=True
    )
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    walk = next(
        line for line in seeded.stdout.splitlines() if "Demo walk product_change campaign" in line
    )
    assert "closures approved and notified, 1 appeal upheld" in walk, walk

    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        status, proposed, notified = db.execute(
            "SELECT status, proposed_count, notified_count FROM closures_closurecampaign"
        ).fetchone()
        assert status == "done" and proposed == notified and proposed >= 2
        closures = dict(
            db.execute(
                "SELECT status, count(*) FROM closures_closurerequest "
                "WHERE campaign_id IS NOT NULL AND source = 'campaign' GROUP BY status"
            ).fetchall()
        )
        assert closures == {"approved": proposed - 1, "reversed": 1}
        events = dict(
            db.execute(
                "SELECT e.kind, count(*) FROM closures_closureevent e "
                "JOIN closures_closurerequest c ON c.id = e.closure_id "
                "WHERE c.campaign_id IS NOT NULL GROUP BY e.kind"
            ).fetchall()
        )
        assert events["proposed"] == events["approved"] == events["notice_sent"] == proposed
        created = db.execute(
            "SELECT count(*) FROM closures_historicalclosurerequest "
            "WHERE campaign_id IS NOT NULL AND history_type = '+'"
        ).fetchone()[0]
        assert created == proposed
        trail = db.execute(
            "SELECT count(*) FROM core_activityentry "
            "WHERE action = 'closures.closurerequest.create'"
        ).fetchone()[0]
        assert trail >= proposed
        notices = db.execute(
            "SELECT count(DISTINCT object_id) FROM notices_notice "
            "WHERE event = 'closure.notice' AND channel = 'portal'"
        ).fetchone()[0]
        assert notices >= proposed
