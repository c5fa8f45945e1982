"""Where a number links to: the list of the cases behind it.

A count the case list page (``/cases``) can filter exactly — reports received on some days,
open cases, open cases flagged overdue, by region, leaf category and channel — links
there. Every other count links to the KPI drill-down list (``/assessment/cases``), which
lists exactly the rows the count counted (the same predicate from ``kpis.py``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from civicgrid.assessment.kpis import COUNT, Period

CASE_LIST = "/cases"
DRILL = "/assessment/cases"


def _query(params: dict[str, object]) -> str:
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def count_url(measure: str, *, period: Period | None = None, region_id: int | None = None,
              unit_id: int | None = None, worker_id: int | None = None, category_id: int | None = None,
              category_is_leaf: bool = True, channel: str | None = None) -> str:
    """The list behind count ``measure`` for these filters."""
    if measure not in COUNT:
        raise KeyError(measure)
    simple = unit_id is None and worker_id is None and (category_id is None or category_is_leaf)
    if simple and measure == "received" and period is not None:
        return f"{CASE_LIST}?" + _query({"region": region_id, "category": category_id, "channel": channel,
                                         "from": period.first.isoformat(), "to": period.last.isoformat()})
    if simple and measure == "open_now" and channel is None:
        return f"{CASE_LIST}?" + _query({"state": "open", "region": region_id, "category": category_id})
    if simple and measure == "overdue_now" and channel is None:
        return f"{CASE_LIST}?" + _query({"state": "open", "overdue": "yes", "region": region_id,
                                         "category": category_id})
    return f"{DRILL}?" + _query({
        "measure": measure, "period": period.key if period is not None and COUNT[measure].cohort != "open" else None,
        "region": region_id, "unit": unit_id, "worker": worker_id, "category": category_id, "channel": channel,
    })
