"""The outbox's services never import its tasks (not even inside a function): they publish the
task by name, so there is no services -> tasks -> services cycle. Nor does notices import
anything of backoffice (the sweep wiring lives there)."""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def imported(source: str, module: str) -> set[str]:
    """Every module that `source` (the module `module`) imports, anywhere in it, with relative
    imports made absolute."""
    package = module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            target = ".".join(p for p in (base, node.module or "") if p)
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def _modules(folder: str) -> dict[str, str]:
    paths = sorted((ROOT / folder).rglob("*.py"))
    return {
        ".".join(p.relative_to(ROOT).with_suffix("").parts): p.read_text(encoding="utf-8")
        for p in paths
    }


def test_services_do_not_import_the_tasks() -> None:
    offenders = {
        name: sorted(n for n in imported(source, name) if n.startswith("notices.tasks"))
        for name, source in _modules("notices/services").items()
    }
    assert not {name: found for name, found in offenders.items() if found}


def test_notices_imports_nothing_of_backoffice() -> None:
    offenders = [
        name
        for name, source in _modules("notices").items()
        if any(n.startswith("backoffice") for n in imported(source, name))
    ]
    assert not offenders


def test_the_check_sees_a_relative_import_inside_a_function() -> None:
    source = "def f():\n    from ..tasks import notice_send_task\n"
    assert "notices.tasks" in imported(source, "notices.services.send")
    assert "notices.tasks" in imported("import notices.tasks\n", "notices.services.send")
