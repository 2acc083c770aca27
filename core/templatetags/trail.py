"""`{% trail_change change record %}`: one changed field of a history row, as the activity trail
shows it (personal data masked, secrets only as "changed"), for the read-only history pages."""

from __future__ import annotations

from typing import Any

from django import template

from core.activity import masked_value

register = template.Library()


@register.simple_tag
def trail_change(change: Any, record: Any) -> str:
    model = getattr(record, "instance_type", None)
    try:
        field = model._meta.get_field(change.field)
    except Exception:  # noqa: BLE001 - an unknown field shows as changed, never its value
        return "[changed]"
    old, new = masked_value(field, change.old), masked_value(field, change.new)
    return f"{'—' if old in (None, '') else old} → {'—' if new in (None, '') else new}"
