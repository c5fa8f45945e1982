"""The monthly report as an Excel workbook (openpyxl): a sheet per topic, native Excel charts."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, PieChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from civicgrid.assessment.kpis import COUNTS, RATES
from civicgrid.reports.service import ReportData

HEAD = Font(bold=True, color="FFFFFF")
FILL = PatternFill("solid", fgColor="1F4E79")
TITLE = Font(bold=True, size=14)


def _table(ws, row: int, headers: list[str], rows: list[list], widths: list[int] | None = None) -> int:
    for j, h in enumerate(headers, start=1):
        cell = ws.cell(row=row, column=j, value=h)
        cell.font, cell.fill = HEAD, FILL
        cell.alignment = Alignment(horizontal="center")
    for i, values in enumerate(rows, start=row + 1):
        for j, v in enumerate(values, start=1):
            ws.cell(row=i, column=j, value=v)
    for j, w in enumerate(widths or [], start=1):
        ws.column_dimensions[get_column_letter(j)].width = w
    return row + len(rows) + 1


def _pct(v: float | None):
    return None if v is None else round(v, 4)


def render_xlsx(data: ReportData) -> bytes:
    """The workbook's bytes."""
    wb = Workbook()
    ws = wb.active
    ws.title = "概况"
    ws["A1"] = f"{data.region.name_zh} {data.period.label('zh')} 市域社会治理月度报告"
    ws["A1"].font = TITLE
    ws["A2"] = f"统计期：{data.period.first.isoformat()} 至 {data.period.last.isoformat()}（{data.period.key}）"
    ws["A3"] = f"生成时间：{data.generated_at.isoformat(timespec='seconds')}"
    ws["A4"] = "综合指标值"
    ws["B4"] = data.score
    ws["C4"] = f"{data.grade['grade']} {data.grade['zh']}" if data.grade else "无数据"
    rows = [[c.zh, int(data.kpis.counts[c.key]), c.key, c.doc_zh] for c in COUNTS if c.cohort != "open"]
    end = _table(ws, 6, ["指标", "数值", "代码", "口径"], rows, [22, 14, 26, 60])
    rate_rows = [[r.zh, _pct(data.kpis.rates[r.key]), r.key, r.formula_zh] for r in RATES]
    rate_rows.append(["平均处置时长（小时）", None if data.kpis.avg_handling_hours is None
                      else round(data.kpis.avg_handling_hours, 2), "avg_handling_hours", "Σ(处置完毕−立案−挂起)/处置数"])
    start = end + 1
    end = _table(ws, start, ["比率", "数值", "代码", "公式"], rate_rows)
    for i in range(start + 1, start + 1 + len(RATES)):
        ws.cell(row=i, column=2).number_format = "0.0%"

    daily = wb.create_sheet("每日趋势")
    end = _table(daily, 1, ["日期", "受理数", "办结数"], [list(d) for d in data.daily], [14, 10, 10])
    chart = LineChart()
    chart.title, chart.y_axis.title, chart.height, chart.width = "每日受理与办结", "件", 8, 22
    chart.add_data(Reference(daily, min_col=2, min_row=1, max_col=3, max_row=end - 1), titles_from_data=True)
    chart.set_categories(Reference(daily, min_col=1, min_row=2, max_row=end - 1))
    daily.add_chart(chart, "E2")

    intake = wb.create_sheet("受理构成")
    end = _table(intake, 1, ["渠道", "Channel", "件数"], [list(r) for r in data.by_channel], [18, 24, 10])
    if data.by_channel:
        pie = PieChart()
        pie.title = "受理渠道"
        pie.add_data(Reference(intake, min_col=3, min_row=1, max_row=end - 1), titles_from_data=True)
        pie.set_categories(Reference(intake, min_col=1, min_row=2, max_row=end - 1))
        intake.add_chart(pie, "E2")
    start = max(end + 1, 20)
    end2 = _table(intake, start, ["类别", "Category", "件数"], [list(r) for r in data.by_class])
    if data.by_class:
        bar = BarChart()
        bar.title, bar.height, bar.width = "按大类", 8, 16
        bar.add_data(Reference(intake, min_col=3, min_row=start, max_row=end2 - 1), titles_from_data=True)
        bar.set_categories(Reference(intake, min_col=1, min_row=start + 1, max_row=end2 - 1))
        intake.add_chart(bar, f"E{start}")

    top = wb.create_sheet("高发问题")
    _table(top, 1, ["事件类别", "Category", "件数"], [list(r) for r in data.top_categories], [24, 30, 10])

    for title, rows_ in (("区域排名", data.region_ranking), ("单位排名", data.unit_ranking)):
        sheet = wb.create_sheet(title)
        table = [[r.rank, r.rank_change, r.name_zh, r.score, r.grade["grade"] if r.grade else None,
                  int(r.kpis.counts["due"]), _pct(r.kpis.rates["closure_rate"]),
                  _pct(r.kpis.rates["on_time_closure_rate"]), int(r.kpis.counts["overdue"]),
                  _pct(r.kpis.rates["satisfaction_rate"])] for r in rows_]
        _table(sheet, 1, ["名次", "名次变化", "名称", "综合指标值", "等级", "应结案数", "结案率", "按期结案率", "超期数",
                          "满意率"], table, [6, 9, 28, 11, 6, 10, 9, 11, 8, 9])
        for i in range(2, len(table) + 2):
            for col in (7, 8, 10):
                sheet.cell(row=i, column=col).number_format = "0.0%"

    if data.disputes is not None or data.petitions is not None:
        other = wb.create_sheet("矛盾纠纷与信访")
        rows = []
        if data.disputes is not None:
            d = data.disputes
            rows += [["矛盾纠纷受理数", d["total"]], ["调解数", d["mediated"]], ["达成协议数", d["agreements"]],
                     ["调解成功率", d["success_rate"]], ["协议履行率", d["performance_rate"]],
                     ["民转刑风险标记", d["criminal_risk"]]]
            rows += [[f"纠纷类型：{k}", v] for k, v in d["by_type"].items()]
        if data.petitions is not None:
            rows.append(["信访登记数", data.petitions["total"]])
        _table(other, 1, ["项目", "数值"], rows, [30, 12])

    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
