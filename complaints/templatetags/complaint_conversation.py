"""`{% load complaint_conversation %}{% case_conversation complaint as messages %}`: the case
page's conversation with the customer (two queries), oldest first, for
admin/complaints/complaint/_conversation.html (included by the case page)."""

from __future__ import annotations

from django import template

from complaints.selectors_conversation import conversation_messages

register = template.Library()

SHOWN = 100


@register.simple_tag
def case_conversation(complaint) -> list:
    return list(reversed(conversation_messages(complaint=complaint)[:SHOWN]))
