"""The managers' reports (PRODUCT.md "Oversight for managers", CONTRACT.md `/admin/reports/`).

- `/admin/reports/`: the dashboard (`dashboard.py`): headline figures linking to the filtered
  queue or report, small charts of the last 12 weeks, links to every report.
- `/admin/reports/<name>/`: one report: a chart (`charts.py`: pygal, inline SVG, no script),
  the tables it was drawn from, `from`/`to` (`params.py`; default the last 12 weeks), its
  filters, `format=csv` (`export.py`; UTF-8 with BOM; `table=<key>` for another table than the
  first). One module per report: `sla`, `volumes`, `closures`, `appeals`, `disputes`,
  `root-causes`, `notices`, `objections`, `partner-audits`, and the monthly `regulatory-return`.
- Complaint figures come from `complaint_figures.py`: the daily rollup (backoffice.models,
  filled by the sweep) for closed days, a live query for the rest.

Every figure is an aggregate computed by the database (GROUP BY, FILTER, date_trunc in
Asia/Shanghai); each report runs a fixed number of queries (`Report.queries`, tested).
Managers and auditors only (`core.view_activityentry`, the activity trail's permission).
"""

from __future__ import annotations

from .appeals import APPEALS
from .base import Report
from .closures import CLOSURES
from .disputes import DISPUTES
from .notices import NOTICES
from .objections import OBJECTIONS
from .partner_audits import PARTNER_AUDITS
from .regulatory import REGULATORY
from .root_causes import ROOT_CAUSES
from .sla import SLA
from .volumes import VOLUMES

REPORTS: dict[str, Report] = {
    report.name: report
    for report in (
        SLA,
        VOLUMES,
        CLOSURES,
        APPEALS,
        DISPUTES,
        ROOT_CAUSES,
        NOTICES,
        OBJECTIONS,
        PARTNER_AUDITS,
        REGULATORY,
    )
}
