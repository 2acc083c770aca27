"""`{% lang_query "en" %}`: the current page's query string with `lang` set, for the portal's
language switch (a page's paging or filter parameters are kept)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def lang_query(context: template.Context, language: str) -> str:
    request = context.get("request")
    query = request.GET.copy() if request is not None else None
    if query is None:
        return f"?lang={language}"
    query["lang"] = language
    return "?" + query.urlencode()
