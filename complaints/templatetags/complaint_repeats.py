"""`{% load complaint_repeats %}{% earlier_complaints complaint as earlier %}`: the earlier
complaints a repeat is linked to, for the case page (one query, none for a first complaint)."""

from __future__ import annotations

from django import template

from complaints.models import Complaint
from complaints.repeats import complaints_earlier

register = template.Library()


@register.simple_tag
def earlier_complaints(complaint: Complaint) -> list[Complaint]:
    return complaints_earlier(complaint)
