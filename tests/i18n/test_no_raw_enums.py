"""No raw enum value reaches a reader (issue 13 item 15): a template that prints a choices field
as it is stored (`{{ complaint.status }}` shows "received" on a zh-hans page) instead of its label
(`{{ complaint.get_status_display }}`) fails here.

The templates of our apps (pages and notices) are read as text; every `{{ ... }}` printed in the
text of the page (not inside an HTML tag, where `class="status-{{ obj.status }}"` is a CSS hook,
not something to read) whose last attribute is the name of a choices field of one of our models
is reported with its file and line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings

OUR_APPS = ("core", "backoffice", "notices", "accounts", "complaints", "closures")
VARIABLE = re.compile(r"\{\{\s*([^}|]+?)\s*(\|[^}]*)?\}\}")
# Filters that turn a stored value into words.
READABLE_FILTERS = ("|choice_label", "|label_of", "|status_label", "|event_label")
# Choices fields whose name a figures table also uses, holding the same enum's stored values
# (complaints' ComplaintDayFigures.category and .channel): still enums wherever printed.
ALWAYS_ENUMS = frozenset({"category", "channel"})
# Printed values checked to be words already, not a stored enum: (template, expression).
ALREADY_WORDS = frozenset(
    {
        # backoffice/trail.py fills `kind` with gettext: "History", "Activity", "Notice"...
        ("backoffice/templates/admin/trail/timeline.html", "item.kind"),
    }
)


def choice_field_names() -> set[str]:
    """Names of choices fields of our models that no model of ours also uses for free text
    (`reason` is a closure's choice but every history's free-text why: not told apart by name)."""
    choices, free = set(), set()
    for label in OUR_APPS:
        for model in apps.get_app_config(label).get_models():
            for field in model._meta.get_fields():
                if getattr(field, "many_to_many", False) or not hasattr(field, "choices"):
                    continue
                (choices if field.choices else free).add(field.name)
    return (choices - free) | (choices & ALWAYS_ENUMS)


def our_templates() -> list[Path]:
    roots = [settings.BASE_DIR / label / "templates" for label in OUR_APPS]
    return sorted(
        path
        for root in roots
        if root.exists()
        for path in root.rglob("*")
        if path.suffix in (".html", ".txt") and path.is_file()
    )


def inside_a_tag(text: str, position: int) -> bool:
    return text.rfind("<", 0, position) > text.rfind(">", 0, position)


def raw_enum_uses(path: Path, names: set[str]) -> list[str]:
    text = path.read_text(encoding="utf-8")
    # Comments say what they like.
    text = re.sub(
        r"\{% comment %\}.*?\{% endcomment %\}", lambda m: " " * len(m.group(0)), text, flags=re.S
    )
    text = re.sub(r"\{#.*?#\}", lambda m: " " * len(m.group(0)), text, flags=re.S)
    found = []
    for match in VARIABLE.finditer(text):
        expression, filters = match.group(1), match.group(2) or ""
        parts = expression.split(".")
        if len(parts) < 2 or parts[-1] not in names or parts[0] in ("form", "field"):
            continue  # a bound form field renders its widget, not a value
        if any(f in filters for f in READABLE_FILTERS):
            continue
        if path.suffix == ".html" and inside_a_tag(text, match.start()):
            continue
        line = text.count("\n", 0, match.start()) + 1
        relative = path.relative_to(settings.BASE_DIR)
        if (str(relative), expression) in ALREADY_WORDS:
            continue
        found.append(f"{relative}:{line}: {match.group(0)}")
    return found


def test_the_scan_finds_a_raw_enum_and_passes_a_label():
    names = choice_field_names()
    assert {"status", "category", "outcome"} <= names
    assert "reason" not in names  # free text in every history
    probe = settings.BASE_DIR / "complaints" / "templates" / ".raw-enum-probe.html"
    probe.write_text(
        '<span class="badge status-{{ c.status }}">{{ c.get_status_display }}</span>\n'
        "<p>{{ c.status }}</p>\n{# {{ c.category }} #}\n<p>{{ form.status }}</p>\n",
        encoding="utf-8",
    )
    try:
        found = raw_enum_uses(probe, names)
    finally:
        probe.unlink()
    assert found == ["complaints/templates/.raw-enum-probe.html:2: {{ c.status }}"]


@pytest.mark.django_db
def test_no_template_prints_a_raw_enum_value():
    names = choice_field_names()
    templates = our_templates()
    assert len(templates) > 30  # the scan reads the real templates
    found = [hit for path in templates for hit in raw_enum_uses(path, names)]
    assert not found, "Raw enum values printed (use get_<field>_display):\n" + "\n".join(found)
