"""The reports' pages, reached through `StaffAdminSite.get_urls()` (`self.admin_view`: a verified
staff session), each answering 403 to anyone without `core.view_activityentry` (managers and
auditors hold it; agents, reviewers and risk officers do not).

Every page carries `Cache-Control: no-store` and, unless the site already set one, a strict
Content-Security-Policy (no inline script or style: the charts are inline SVG styled by
`reports/charts.css`).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.clock import local_date

from . import REPORTS
from .base import Report, Result
from .charts import chart_stylesheet
from .dashboard import dashboard
from .export import csv_response
from .params import ReportParams, report_params
from .regulatory import parse_month

PERMISSION = "core.view_activityentry"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def _require_viewer(request: HttpRequest) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied


def _secured(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    if "Content-Security-Policy" not in response:
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def _report_links() -> list[dict[str, Any]]:
    return [
        {"name": r.name, "title": r.title, "description": r.description} for r in REPORTS.values()
    ]


def dashboard_view(request: HttpRequest, admin_site: Any) -> HttpResponse:
    _require_viewer(request)
    headlines, charts = dashboard(timezone.now())
    context = {
        **admin_site.each_context(request),
        "title": _("Reports"),
        "headlines": headlines,
        "charts": charts,
        "reports": _report_links(),
    }
    return _secured(TemplateResponse(request, "admin/reports/dashboard.html", context))


def _params(report: Report, request: HttpRequest) -> ReportParams:
    today = local_date(timezone.now())
    specs = report.filters()
    if report.ranged:
        return report_params(request.GET, today=today, filters=specs)
    params = report_params(request.GET, today=today, ranged=False, extra_parameters=["month"])
    params.filters["month"] = parse_month(request.GET.get("month", ""), today, params.notes)
    return params


def _csv(report: Report, params: ReportParams, result: Result, table_key: str) -> HttpResponse:
    tables = {t.key: t for t in result.tables}
    table = tables.get(table_key) if table_key else result.tables[0]
    if table is None:
        message = _("This report has no table “%(table)s”; its tables are: %(tables)s.") % {
            "table": table_key[:40],
            "tables": ", ".join(tables),
        }
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    if report.ranged:
        span = f"{params.start.isoformat()}_{params.end.isoformat()}"
    else:
        span = params.filters["month"].strftime("%Y-%m")
    suffix = "" if table is result.tables[0] else f"_{table.key}"
    return csv_response(table, f"{report.name}{suffix}_{span}.csv")


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def report_view(request: HttpRequest, admin_site: Any, name: str) -> HttpResponse:
    _require_viewer(request)
    report = REPORTS.get(name)
    if report is None:
        raise Http404(_("There is no report “%(name)s”.") % {"name": name[:40]})
    params = _params(report, request)
    result = report.build(params, timezone.now())
    fmt = request.GET.get("format", "")
    if fmt == "csv":
        return _secured(_csv(report, params, result, request.GET.get("table", "")))
    notes = [*params.notes, *result.notes]
    if fmt:
        notes.append(_("Only format=csv is offered: the page is shown instead."))
    base_query = _query_without(request, "format", "table")
    context = {
        **admin_site.each_context(request),
        "title": report.title,
        "report": report,
        "params": params,
        "result": result,
        "notes": notes,
        "filters": [
            {"spec": spec, "value": params.filters.get(spec.name, "")} for spec in report.filters()
        ],
        "month": params.filters.get("month"),
        "csv_query": (base_query + "&" if base_query else "") + "format=csv",
        "period_label": _("by week") if params.period == "week" else _("by month"),
        "reports": _report_links(),
    }
    return _secured(TemplateResponse(request, "admin/reports/report.html", context))


def stylesheet_view(request: HttpRequest) -> HttpResponse:
    """The charts' look (pygal's CSS, scoped) and the report pages' layout, as one stylesheet."""
    _require_viewer(request)
    css = chart_stylesheet() + "\n" + render_to_string("admin/reports/reports.css")
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "private, max-age=3600"
    return response
