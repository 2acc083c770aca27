"""Both translation catalogs are complete: every translatable string in the code and templates
is in the zh-hans and en catalogs, translated, not fuzzy, and compiled."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

LOCALE_DIR = Path(settings.BASE_DIR) / "locale"
CATALOG_LANGS = ["zh_Hans", "en"]


def _catalog(lang: str, domain: str = "django") -> polib.POFile:
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"
    assert path.exists(), f"missing catalog {path}: run `make messages`"
    return polib.pofile(str(path))


@pytest.mark.parametrize("lang", CATALOG_LANGS)
def test_every_entry_is_translated_and_compiled(lang: str) -> None:
    catalog = _catalog(lang)
    untranslated = [e.msgid for e in catalog.untranslated_entries()]
    fuzzy = [e.msgid for e in catalog.fuzzy_entries()]
    assert not untranslated, f"{lang}: {len(untranslated)} untranslated, e.g. {untranslated[:5]}"
    assert not fuzzy, f"{lang}: {len(fuzzy)} fuzzy, e.g. {fuzzy[:5]}"
    mo = LOCALE_DIR / lang / "LC_MESSAGES" / "django.mo"
    assert mo.exists(), f"{lang}: django.mo missing: run `make messages`"
    compiled = {e.msgid for e in polib.mofile(str(mo)) if e.msgstr or e.msgstr_plural}
    missing = {e.msgid for e in catalog.translated_entries()} - compiled
    assert not missing, f"{lang}: .mo is stale, {len(missing)} entries missing: run `make messages`"


def test_zh_hans_really_is_chinese() -> None:
    """Guard against a catalog 'completed' by copying the English source text."""
    catalog = _catalog("zh_Hans")
    entries = [e for e in catalog.translated_entries() if any(c.isalpha() for c in e.msgid)]
    copied = [e.msgid for e in entries if e.msgstr == e.msgid and len(e.msgid) > 3]
    assert len(copied) <= max(5, len(entries) // 50), f"copied English: {copied[:10]}"


@pytest.mark.slow
def test_catalogs_hold_every_source_string(tmp_path: Path) -> None:
    """makemessages over a scratch copy of the source finds no msgid the catalogs lack.

    (A copy, because makemessages writes into the `locale/` beside the files it scans.)
    """
    root = Path(settings.BASE_DIR)
    project = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("core", "notices", "accounts", "backoffice", "complaints", "closures", "locale"):
        shutil.copytree(root / name, project / name, ignore=ignore)
    shutil.copy(root / "manage.py", project / "manage.py")
    before = {lang: {e.msgid for e in _catalog(lang)} for lang in CATALOG_LANGS}
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "--no-obsolete",
            *[f"-l{lang}" for lang in CATALOG_LANGS],
        ],
        cwd=project,
        check=True,
        capture_output=True,
    )
    for lang in CATALOG_LANGS:
        path = project / "locale" / lang / "LC_MESSAGES" / "django.po"
        after = {e.msgid for e in polib.pofile(str(path))}
        new = sorted(after - before[lang])
        assert not new, f"{lang}: {len(new)} strings not in the catalog, e.g. {new[:8]}"


def test_no_gettext_inside_f_strings() -> None:
    """xgettext cannot see `_()` inside an f-string: such text would never be translated."""
    root = Path(settings.BASE_DIR)
    offenders = []
    for app in ("core", "notices", "accounts", "backoffice", "complaints", "closures"):
        for path in (root / app).rglob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if "{_(" in line or "{gettext(" in line:
                    offenders.append(f"{path.relative_to(root)}:{number}")
    assert not offenders, offenders
