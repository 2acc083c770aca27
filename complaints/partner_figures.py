"""What complaints tells the partner-interface register (accounts/partners.py) about an interface,
through the providers registered in ComplaintsConfig.ready(): the disputed loan records through
it with their outcomes, and the incident alerts raised about it (accounts cannot import
complaints)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.urls import reverse

from .enums import AlertDimension, ItemOutcome
from .models import DisputedItem, IncidentAlert


def dispute_figures(*, codes: list[str]) -> dict[str, dict[str, int]]:
    """Per interface: disputed loan records (one DisputedItem each), upheld, rejected. One GROUP BY."""
    rows = (
        DisputedItem.objects.filter(loan__partner_interface__in=codes)
        .values("loan__partner_interface")
        .annotate(
            disputed=Count("pk"),
            upheld=Count("pk", filter=Q(outcome=ItemOutcome.UPHELD)),
            rejected=Count("pk", filter=Q(outcome=ItemOutcome.REJECTED)),
        )
        .order_by()
    )
    return {
        r["loan__partner_interface"]: {k: r[k] for k in ("disputed", "upheld", "rejected")}
        for r in rows
    }


def incidents_about_interface(*, code: str, limit: int = 20) -> list[dict[str, Any]]:
    alerts = IncidentAlert.objects.filter(
        dimension=AlertDimension.PARTNER_INTERFACE, value=code
    ).order_by("-raised_at")[:limit]
    return [
        {
            "label": str(alert),
            "count": alert.complaint_count,
            "window_start": alert.window_start,
            "raised_at": alert.raised_at,
            "url": reverse("admin:complaints_incidentalert_change", args=[alert.pk]),
        }
        for alert in alerts
    ]
