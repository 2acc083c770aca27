"""Both translation catalogs are complete: every translatable string in the code and templates
is in the zh-hans and en catalogs, translated, not fuzzy, and compiled."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

LOCALE_DIR = Path(settings.BASE_DIR) / "locale"
CATALOG_LANGS = ["zh_Hans", "en"]
APPS = ("core", "notices", "accounts", "complaints", "closures", "backoffice")


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
    for name in (*APPS, "locale"):
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
    for app in APPS:
        for path in (root / app).rglob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if "{_(" in line or "{gettext(" in line:
                    offenders.append(f"{path.relative_to(root)}:{number}")
    assert not offenders, offenders


# django.utils.translation's functions -> how many leading arguments must be string literals
# for makemessages to see the text (context, singular, plural).
LITERAL_ARGS = {
    "gettext": 1,
    "gettext_lazy": 1,
    "gettext_noop": 1,
    "ngettext": 2,
    "ngettext_lazy": 2,
    "pgettext": 2,
    "pgettext_lazy": 2,
    "npgettext": 3,
    "npgettext_lazy": 3,
}
TRANSLATION_MODULE = "django.utils.translation"


def _translation_names(tree: ast.Module) -> tuple[dict[str, str], set[str]]:
    """({local name: translation function}, {local names of the translation module}) bound by
    the module's imports (`from django.utils.translation import gettext as _`, `from
    django.utils import translation`)."""
    functions: dict[str, str] = {}
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == TRANSLATION_MODULE:
            for alias in node.names:
                if alias.name in LITERAL_ARGS:
                    functions[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module == "django.utils":
            modules.update(a.asname or a.name for a in node.names if a.name == "translation")
        elif isinstance(node, ast.Import):
            modules.update(
                a.asname for a in node.names if a.name == TRANSLATION_MODULE and a.asname
            )
    return functions, modules


def _called_function(call: ast.Call, functions: dict[str, str], modules: set[str]) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return functions.get(func.id)
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id in modules
        and func.attr in LITERAL_ARGS
    ):
        return func.attr
    return None


def _is_literal(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def translation_calls_on_non_literals(source: str, filename: str) -> list[str]:
    """`line: call` for each translation call whose text is not a string literal."""
    tree = ast.parse(source, filename=filename)
    functions, modules = _translation_names(tree)
    offenders = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _called_function(node, functions, modules)
        if name is None:
            continue
        texts = node.args[: LITERAL_ARGS[name]]
        if len(texts) < LITERAL_ARGS[name] or not all(_is_literal(arg) for arg in texts):
            offenders.append(f"{node.lineno}: {ast.unparse(node)[:80]}")
    return offenders


def test_translation_calls_take_string_literals() -> None:
    """`_(message)`, `gettext(obj.reason)`, `_(f"...")`, `_("a" + b)`: makemessages cannot
    see such text, so it can never be translated. Store a message with `gettext_noop("...")`
    and translate the stored value where it is shown."""
    root = Path(settings.BASE_DIR)
    offenders = []
    for app in APPS:
        for path in sorted((root / app).rglob("*.py")):
            found = translation_calls_on_non_literals(path.read_text(encoding="utf-8"), str(path))
            offenders += [f"{path.relative_to(root)}:{where}" for where in found]
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ('from django.utils.translation import gettext as _\n_("Fine.")', False),
        ("from django.utils.translation import gettext as _\n_(message)", True),
        ('from django.utils.translation import gettext_lazy as _\n_(f"Hi {name}")', True),
        ('from django.utils.translation import gettext\ngettext("a" + b)', True),
        ("from django.utils.translation import gettext_noop\ngettext_noop(text)", True),
        ("from django.utils.translation import ngettext\nngettext('a', plural, n)", True),
        ("from django.utils.translation import ngettext\nngettext('a', 'as', n)", False),
        ("from django.utils import translation\ntranslation.gettext(obj.reason)", True),
        ("from django.utils.translation import pgettext_lazy\npgettext_lazy('ctx', 'x')", False),
        ("from django.utils.translation import pgettext_lazy as p\np(ctx, 'x')", True),
        ("def _(x):\n    return x\n_(value)", False),  # not a translation function
    ],
)
def test_the_literal_check_sees_what_makemessages_cannot(source: str, bad: bool) -> None:
    assert bool(translation_calls_on_non_literals(source, "example.py")) is bad
