"""The managers' view of the activity trail (CONTRACT.md `/admin/audit/`) and the timeline of
one object (its history, trail rows, case events and notices together).

- `/admin/audit/`: filters `actor=<username>`, `object=<app_label>.<model>:<id>`,
  `action=<name>`, `from=`/`to=` (YYYY-MM-DD, Asia/Shanghai days); newest first, keyset pages
  (`after=<cursor>`), a fixed number of queries whatever the rows; `format=csv` streams every
  matching row (UTF-8 with BOM, so Excel opens Chinese text) without loading them.
- `/admin/audit/timeline/<app_label>.<model>/<id>/`: one object's story, linked from every admin
  object page.
Managers and auditors only (`core.view_activityentry`); everyone else gets 403.
"""

from __future__ import annotations

import base64
import csv
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.clock import SHANGHAI
from core.models import ActivityEntry

PAGE_SIZE = 50
MAX_RANGE_DAYS = 366 * 5
CSV_COLUMNS = [
    "at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "reason",
    "ip",
]
PERMISSION = "core.view_activityentry"


def _require_viewer(request: HttpRequest) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied


class TrailFilterForm(forms.Form):
    actor = forms.CharField(label=gettext_lazy("Staff member"), required=False, max_length=150)
    object = forms.CharField(label=gettext_lazy("Object"), required=False, max_length=200)
    action = forms.CharField(label=gettext_lazy("Action"), required=False, max_length=80)
    from_ = forms.DateField(label=gettext_lazy("From date"), required=False)
    to = forms.DateField(label=gettext_lazy("To date"), required=False)

    def __init__(self, data: Any, *args: Any, **kwargs: Any) -> None:
        data = data.copy()
        if "from" in data:
            data["from_"] = data.get("from")
        super().__init__(data, *args, **kwargs)

    def clean_object(self) -> tuple[str, str] | None:
        value = (self.cleaned_data.get("object") or "").strip()
        if not value:
            return None
        label, _sep, object_id = value.partition(":")
        app_label, _dot, model_name = label.lower().partition(".")
        try:
            apps.get_model(app_label, model_name)
        except (LookupError, ValueError):
            raise forms.ValidationError(
                _("Unknown object type %(type)s: use <app_label>.<model>:<id>.") % {"type": label}
            ) from None
        if not object_id.strip() or not object_id.strip().isprintable():
            raise forms.ValidationError(_("Give the object's id after the colon."))
        return f"{app_label}.{model_name}", object_id.strip()

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("from_"), cleaned.get("to")
        if start and end and start > end:
            self.add_error("to", _("The end date is before the start date."))
        elif start and end and (end - start).days > MAX_RANGE_DAYS:
            self.add_error("to", _("Choose a range of at most five years."))
        return cleaned


def _day_start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=SHANGHAI)


def _filtered(form: TrailFilterForm) -> tuple[QuerySet, list[str]]:
    """The matching rows and what the page should say about the filters."""
    notes: list[str] = []
    rows = ActivityEntry.objects.all()
    if not form.is_valid():
        return rows.none(), notes
    data = form.cleaned_data
    if data.get("actor"):
        actor = get_user_model().objects.filter(username=data["actor"]).only("pk").first()
        if actor is None:
            notes.append(_("Nobody has the username %(name)s.") % {"name": data["actor"]})
            return rows.none(), notes
        rows = rows.filter(actor_id=actor.pk)
    if data.get("object"):
        object_type, object_id = data["object"]
        rows = rows.filter(object_type=object_type, object_id=object_id)
    if data.get("action"):
        rows = rows.filter(action=data["action"])
    if data.get("from_"):
        rows = rows.filter(at__gte=_day_start(data["from_"]))
    if data.get("to"):
        rows = rows.filter(at__lt=_day_start(data["to"] + timedelta(days=1)))
    return rows.order_by("-at", "-id"), notes


def _cursor(entry: ActivityEntry) -> str:
    raw = f"{entry.at.isoformat()}|{entry.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _after(rows: QuerySet, cursor: str) -> QuerySet | None:
    try:
        at_text, _bar, pk_text = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        at, pk = datetime.fromisoformat(at_text), int(pk_text)
    except (ValueError, UnicodeError):
        return None
    return rows.filter(Q(at__lt=at) | Q(at=at, id__lt=pk))


def object_admin_url(object_type: str, object_id: str) -> str:
    app_label, _dot, model_name = object_type.partition(".")
    try:
        return reverse(f"admin:{app_label}_{model_name}_change", args=[object_id])
    except NoReverseMatch:
        return ""


# Actions that are not a model write, in words.
ACTION_LABELS = {
    "auth.login": gettext_lazy("Signed in"),
    "auth.login_failed": gettext_lazy("Failed sign-in"),
    "auth.stepup": gettext_lazy("One-time code for a sensitive action"),
    "auth.stepup_failed": gettext_lazy("Wrong one-time code for a sensitive action"),
    "pii.unmask": gettext_lazy("Saw unmasked personal data"),
    "audit.rewrite_exception": gettext_lazy("Append-only exception opened"),
    "staff.credentials_revoke": gettext_lazy("Sign-in credentials revoked"),
    "accounts.partnerinterface.precheck_refused": gettext_lazy(
        "Pre-check refused a loan through the partner interface"
    ),
}


def _model(object_type: str) -> Any:
    try:
        return apps.get_model(*object_type.split(".", 1))
    except (LookupError, ValueError, TypeError):
        return None


def action_label(action: str) -> str:
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
    object_type, _dot, verb = action.rpartition(".")
    model = _model(object_type)
    if model is None or verb not in ("create", "update"):
        return action
    name = model._meta.verbose_name
    if verb == "create":
        return _("Created: %(model)s") % {"model": name}
    return _("Changed: %(model)s") % {"model": name}


def _shown(value: Any) -> Any:
    """A value as it is: text and numbers themselves, lists and mappings as JSON."""
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return value


def _change_rows(object_type: str, changes: Any) -> list[tuple[str, Any, Any]]:
    """(field label, before, after), choice values in words. The writers store
    {field: [before, after]}; any other shape (a row written by hand, an older writer) is shown
    as it is, with no before: never a 500."""
    if not changes:
        return []
    if not isinstance(changes, dict):
        return [(str(gettext_lazy("Changes")), None, _shown(changes))]
    model = _model(object_type)
    rows = []
    for name, pair in changes.items():
        label, words = str(name), {}
        if model is not None:
            try:
                field = model._meta.get_field(name)
                label = str(getattr(field, "verbose_name", name))
                words = {str(k): str(v) for k, v in (field.flatchoices or [])}
            except Exception:  # noqa: BLE001, S110 - a field since removed keeps its raw name
                pass
        if isinstance(pair, list | tuple) and len(pair) == 2:
            before, after = pair
            before = words.get(str(before), _shown(before)) if before is not None else None
            after = words.get(str(after), _shown(after)) if after is not None else None
        else:
            before, after = None, _shown(pair)
        rows.append((label, before, after))
    return rows


def _rows_for_page(entries: list[ActivityEntry]) -> list[dict[str, Any]]:
    return [
        {
            "entry": entry,
            "label": action_label(entry.action),
            "url": object_admin_url(entry.object_type, entry.object_id)
            if entry.object_type
            else "",
            "changes": _change_rows(entry.object_type, entry.changes),
        }
        for entry in entries
    ]


def _csv_lines(rows: QuerySet) -> Iterator[str | bytes]:
    """The CSV, streamed: PostgreSQL writes it (COPY ... TO STDOUT, chunk by chunk, never the
    whole result in memory); elsewhere (SQLite under `make run`) Python's csv module does."""
    yield "\ufeff" + ",".join(CSV_COLUMNS) + "\r\n"
    if connection.vendor == "postgresql":
        yield from _copy_csv(rows)
        return
    yield from _python_csv(rows)


def _copy_csv(rows: QuerySet) -> Iterator[bytes]:
    annotated = rows.annotate(
        at_local=RawSQL(
            "to_char(at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+08:00\"')", []
        ),
        ip_text=RawSQL("COALESCE(host(ip_address), '')", []),
    ).values_list(
        "at_local",
        "actor_username",
        "action",
        "object_type",
        "object_id",
        "object_label",
        "reason",
        "ip_text",
    )
    sql, params = annotated.query.sql_with_params()
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: COPY streams its output in chunks
        with raw.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:  # noqa: S608
            for chunk in copy:
                yield bytes(chunk)


def _python_csv(rows: QuerySet) -> Iterator[str]:
    class _Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(_Echo())
    values = rows.values_list(
        "at",
        "actor_username",
        "action",
        "object_type",
        "object_id",
        "object_label",
        "reason",
        "ip_address",
    )
    for at, actor, action, object_type, object_id, label, reason, ip in values.iterator(
        chunk_size=2000
    ):
        yield writer.writerow(
            [
                at.astimezone(SHANGHAI).isoformat(timespec="seconds"),
                actor,
                action,
                object_type,
                object_id,
                label,
                reason,
                ip or "",
            ]
        )


def trail_view(request: HttpRequest, admin_site: Any) -> HttpResponse:
    _require_viewer(request)
    form = TrailFilterForm(request.GET)
    rows, notes = _filtered(form)
    if request.GET.get("format") == "csv":
        if not form.is_valid():
            return HttpResponse(
                "; ".join(str(e) for errors in form.errors.values() for e in errors),
                status=400,
                content_type="text/plain; charset=utf-8",
            )
        response = StreamingHttpResponse(_csv_lines(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="activity.csv"'
        response["Cache-Control"] = "no-store"
        return response
    cursor = request.GET.get("after", "")
    if cursor:
        paged = _after(rows, cursor)
        if paged is None:
            notes.append(_("That page link is not valid; showing the newest rows."))
        else:
            rows = paged
    entries = list(rows.select_related(None)[: PAGE_SIZE + 1])
    more = len(entries) > PAGE_SIZE
    entries = entries[:PAGE_SIZE]
    query = request.GET.copy()
    query.pop("after", None)
    next_query = ""
    if more:
        query["after"] = _cursor(entries[-1])
        next_query = query.urlencode()
    csv_query = request.GET.copy()
    csv_query.pop("after", None)
    csv_query["format"] = "csv"
    context = {
        **admin_site.each_context(request),
        "title": _("Activity trail"),
        "form": form,
        "notes": notes,
        "rows": _rows_for_page(entries),
        "next_query": next_query,
        "csv_query": csv_query.urlencode(),
    }
    response = TemplateResponse(request, "admin/trail/list.html", context)
    response["Cache-Control"] = "no-store"
    return response


def _timeline_items(model: Any, object_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    history = getattr(model, "history", None)
    if history is not None:
        for row in history.filter(id=object_id).select_related("history_user")[:200]:
            items.append(
                {
                    "at": row.history_date,
                    "kind": _("History"),
                    "who": getattr(row.history_user, "username", ""),
                    "text": row.history_change_reason or "",
                    "detail": row.get_history_type_display(),
                }
            )
    trail = ActivityEntry.objects.filter(
        object_type=model._meta.label_lower, object_id=str(object_id)
    ).order_by("-at", "-id")[:200]
    for entry in trail:
        items.append(
            {
                "at": entry.at,
                "kind": _("Activity"),
                "who": entry.actor_username,
                "text": entry.reason,
                "detail": action_label(entry.action),
            }
        )
    for event in _case_events(model, object_id):
        items.append(event)
    notices = apps.get_model("notices", "Notice").objects.filter(
        content_type=ContentType.objects.get_for_model(model), object_id=str(object_id)
    )
    for notice in notices.order_by("-created_at")[:200]:
        items.append(
            {
                "at": notice.created_at,
                "kind": _("Notice"),
                "who": "",
                "text": notice.subject,
                "detail": f"{notice.get_channel_display()} · {notice.get_status_display()}",
            }
        )
    items.sort(key=lambda item: item["at"], reverse=True)
    return items


def _case_events(model: Any, object_id: str) -> list[dict[str, Any]]:
    """Case events of a complaint, closure events of a closure (the top layer knows both)."""
    relations = {"complaints.complaint": "complaint_id", "closures.closurerequest": "closure_id"}
    field = relations.get(model._meta.label_lower)
    if field is None:
        return []
    events = model._meta.get_field("events").related_model.objects.filter(**{field: object_id})
    return [
        {
            "at": event.at,
            "kind": _("Case event"),
            "who": getattr(getattr(event, "actor", None), "username", ""),
            "text": getattr(event, "text", ""),
            "detail": str(event),
        }
        for event in events.select_related("actor").order_by("-at")[:200]
    ]


def timeline_view(
    request: HttpRequest, admin_site: Any, label: str, object_id: str
) -> HttpResponse:
    _require_viewer(request)
    app_label, _dot, model_name = label.lower().partition(".")
    try:
        model = apps.get_model(app_label, model_name)
        model._meta.pk.to_python(object_id)
    except (LookupError, ValueError, ValidationError):
        raise Http404 from None  # no such object type or id: never a 500
    context = {
        **admin_site.each_context(request),
        "title": _("Timeline of %(object)s")
        % {"object": f"{model._meta.verbose_name} {object_id}"},
        "items": _timeline_items(model, object_id),
        "object_url": object_admin_url(model._meta.label_lower, object_id),
        "trail_query": f"object={model._meta.label_lower}:{object_id}",
    }
    response = TemplateResponse(request, "admin/trail/timeline.html", context)
    response["Cache-Control"] = "no-store"
    return response
