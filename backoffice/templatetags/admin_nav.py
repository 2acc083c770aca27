"""`{% load admin_nav %}{% admin_nav_sidebar %}`: Django's admin/nav_sidebar.html (with
admin/app_list.html, no change links), the same markup built in one pass from the context's
`available_apps`. The template version walks ~20 models with a dozen tags each (`urlencode` of
the path three times a model): ~1.5 ms of every admin page (bench.complaints); this ~0.1 ms.
Used by the pages timed against issue 13's budgets (queue, case page, customer page)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

register = template.Library()


def _current(url: Any, path: str) -> bool:
    return bool(url) and str(url) in path


def _app_html(app: dict[str, Any], path: str) -> str:
    label = escape(app["app_label"])
    name = escape(app["name"])
    title = gettext("Models in the %(name)s application") % {"name": name}
    # Django's admin headers (read by screen readers), here outside f-strings so that
    # makemessages finds them: Django's own zh-hans catalog has no translation of them.
    headers = (gettext("Model name"), gettext("Add link"), gettext("Change or view list link"))
    current_app = " current-app" if _current(app.get("app_url"), path) else ""
    parts = [
        f'<div class="app-{label} module{current_app}">',
        "<table>",
        f'<caption><a href="{escape(app["app_url"])}" class="section" title="{title}">'
        f"{name}</a></caption>",
        '<thead class="visually-hidden"><tr>'
        f'<th scope="col">{escape(headers[0])}</th>'
        f'<th scope="col">{escape(headers[1])}</th>'
        f'<th scope="col">{escape(headers[2])}</th>'
        "</tr></thead>",
    ]
    add = escape(gettext("Add"))
    for model in app["models"]:
        model_name = escape(str(model["object_name"]).lower())
        url = model.get("admin_url")
        current = _current(url, path)
        parts.append(
            f'<tr class="model-{model_name}{" current-model" if current else ""}">'
            f'<th scope="row" id="{label}-{model_name}">'
        )
        if url:
            aria = ' aria-current="page"' if current else ""
            parts.append(f'<a href="{escape(url)}"{aria}>{escape(model["name"])}</a>')
        else:
            parts.append(escape(model["name"]))
        parts.append("</th>")
        if model.get("add_url"):
            parts.append(
                f'<td><a href="{escape(model["add_url"])}" class="addlink" '
                f'aria-describedby="{label}-{model_name}">{add}</a></td>'
            )
        else:
            parts.append("<td></td>")
        parts.append("</tr>")
    parts.append("</table></div>")
    return "".join(parts)


@register.simple_tag(takes_context=True)
def admin_nav_sidebar(context: template.Context) -> SafeString:
    request = context.get("request")
    path = quote(request.path, safe="/") if request is not None else ""
    apps = context.get("available_apps") or []
    if apps:
        body = "\n".join(_app_html(app, path) for app in apps)
    else:
        body = f"<p>{escape(gettext('You don’t have permission to view or edit anything.'))}</p>"
    return mark_safe(  # noqa: S308 - every value escaped above
        '<button class="sticky toggle-nav-sidebar" id="toggle-nav-sidebar" '
        f'aria-label="{escape(gettext("Toggle navigation"))}"></button>\n'
        f'<nav class="sticky" id="nav-sidebar" aria-label="{escape(gettext("Sidebar"))}">\n'
        '<input type="search" id="nav-filter" '
        f'placeholder="{escape(gettext("Start typing to filter…"))}" '
        f'aria-label="{escape(gettext("Filter navigation items"))}">\n'
        f"{body}\n</nav>"
    )
