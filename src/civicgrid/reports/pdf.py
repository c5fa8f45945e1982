"""The monthly report as PDF (reportlab), with charts and tables.

Chinese text uses reportlab's built-in ``STSong-Light`` CID font: the reader's own CJK
fonts render it, nothing is downloaded or embedded, so generation works offline.
"""

from __future__ import annotations

import io

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from civicgrid.assessment.kpis import COUNTS, RATES
from civicgrid.reports.service import ReportData

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
H1 = ParagraphStyle("h1", fontName=FONT, fontSize=18, leading=24, spaceAfter=6)
H2 = ParagraphStyle("h2", fontName=FONT, fontSize=13, leading=18, spaceBefore=10, spaceAfter=4,
                    textColor=colors.HexColor("#1F4E79"))
BODY = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=14)


# Glyphs STSong-Light lacks, replaced by ones it has.
_GLYPHS = str.maketrans({"−": "-", "·": "，", "–": "-", "—": "-"})


def _clean(text: str) -> str:
    return text.translate(_GLYPHS)


def P(text: str, style: ParagraphStyle = None) -> Paragraph:  # noqa: N802 — reads like Paragraph
    """A paragraph in the CJK font with the missing glyphs replaced."""
    return Paragraph(_clean(text), style or BODY)


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def _table(rows: list[list], widths: list[float] | None = None) -> Table:
    rows = [[_clean(c) if isinstance(c, str) else c for c in row] for row in rows]
    t = Table(rows, colWidths=widths, repeatRows=1)
    t.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 8.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1F4E79")),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#9DB3CC")),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#F2F6FA")]),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
    ]))
    return t


def _daily_chart(data: ReportData) -> Drawing:
    d = Drawing(170 * mm, 60 * mm)
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 12 * mm, 10 * mm, 150 * mm, 42 * mm
    plot.data = [[(i + 1, r[1]) for i, r in enumerate(data.daily)], [(i + 1, r[2]) for i, r in enumerate(data.daily)]]
    plot.lines[0].strokeColor = colors.HexColor("#1677FF")
    plot.lines[1].strokeColor = colors.HexColor("#52C41A")
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = 1, max(len(data.daily), 2)
    plot.yValueAxis.valueMin = 0
    for axis in (plot.xValueAxis, plot.yValueAxis):
        axis.labels.fontName = FONT
        axis.labels.fontSize = 7
    d.add(plot)
    d.add(String(14 * mm, 55 * mm, "— 受理数", fontName=FONT, fontSize=8, fillColor=colors.HexColor("#1677FF")))
    d.add(String(40 * mm, 55 * mm, "— 办结数", fontName=FONT, fontSize=8, fillColor=colors.HexColor("#52C41A")))
    return d


def _bar_chart(rows: list[tuple[str, str, int]]) -> Drawing:
    d = Drawing(170 * mm, 62 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 12 * mm, 16 * mm, 150 * mm, 42 * mm
    chart.data = [[r[2] for r in rows] or [0]]
    chart.categoryAxis.categoryNames = [r[0][:6] for r in rows] or [""]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 6.5
    chart.categoryAxis.labels.angle = 30
    chart.categoryAxis.labels.boxAnchor = "ne"
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = colors.HexColor("#1677FF")
    d.add(chart)
    return d


def render_pdf(data: ReportData) -> bytes:
    """The PDF's bytes."""
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm, title=f"{data.region.name_zh} {data.period.key} 月度报告",
                            author="civicgrid")
    k = data.kpis
    story = [
        P(f"{data.region.name_zh} {data.period.label('zh')} 市域社会治理月度报告", H1),
        P(f"统计期 {data.period.first.isoformat()} 至 {data.period.last.isoformat()} · "
                  f"生成于 {data.generated_at.strftime('%Y-%m-%d %H:%M')} UTC", BODY),
        P(f"综合指标值 <b>{'—' if data.score is None else f'{data.score:.1f}'}</b>"
                  f"{'（' + data.grade['grade'] + ' ' + data.grade['zh'] + '）' if data.grade else '（无数据）'}", H2),
        P("一、受理与办结", H2),
        _table([["指标", "数值", "口径"]] + [[c.zh, str(int(k.counts[c.key])), P(c.doc_zh, BODY)]
                                             for c in COUNTS if c.cohort != "open"], [35 * mm, 20 * mm, 115 * mm]),
        P("二、时效与满意度", H2),
        _table([["比率", "数值", "公式"]] + [[r.zh, _pct(k.rates[r.key]), r.formula_zh] for r in RATES]
               + [["平均处置时长", "—" if k.avg_handling_hours is None else f"{k.avg_handling_hours:.1f} 小时",
                   "Σ(处置完毕−立案−挂起)/处置数"]], [35 * mm, 25 * mm, 110 * mm]),
        P("三、每日受理与办结", H2),
        _daily_chart(data),

        P("四、受理渠道", H2),
        _table([["渠道", "件数"]] + [[r[0], str(r[2])] for r in data.by_channel] or [["—", "0"]],
               [60 * mm, 25 * mm]),
        P("五、问题类别与高发问题", H2),
        _bar_chart(data.by_class[:12]),
        _table([["事件类别", "件数"]] + [[r[0], str(r[2])] for r in data.top_categories], [80 * mm, 25 * mm]),
    ]
    for title, rows in (("六、区域排名", data.region_ranking), ("七、单位排名", data.unit_ranking)):
        story.append(P(title, H2))
        table = [["名次", "变化", "名称", "综合指标值", "等级", "结案率", "按期结案率", "满意率"]]
        for r in rows:
            change = "—" if r.rank_change is None else (f"↑{r.rank_change}" if r.rank_change > 0 else
                                                         (f"↓{-r.rank_change}" if r.rank_change < 0 else "＝"))
            table.append(["—" if r.rank is None else str(r.rank), change, P(r.name_zh, BODY),
                          "—" if r.score is None else f"{r.score:.1f}", r.grade["grade"] if r.grade else "—",
                          _pct(r.kpis.rates["closure_rate"]), _pct(r.kpis.rates["on_time_closure_rate"]),
                          _pct(r.kpis.rates["satisfaction_rate"])])
        if len(table) == 1:
            table.append(["—"] * 8)
        story.append(_table(table, [12 * mm, 12 * mm, 52 * mm, 20 * mm, 12 * mm, 20 * mm, 22 * mm, 20 * mm]))
    if data.disputes is not None or data.petitions is not None:
        story.append(P("八、矛盾纠纷与信访", H2))
        rows = [["项目", "数值"]]
        if data.disputes is not None:
            d = data.disputes
            rows += [["矛盾纠纷受理数", str(d["total"])], ["调解成功率", _pct(d["success_rate"])],
                     ["协议履行率", _pct(d["performance_rate"])], ["民转刑风险标记", str(d["criminal_risk"])]]
        if data.petitions is not None:
            rows.append(["信访登记数", str(data.petitions["total"])])
        story.append(_table(rows, [60 * mm, 30 * mm]))
    story.append(Spacer(1, 6 * mm))
    story.append(P("口径说明见 docs/kpis.md：各项数字与指挥大屏同一统计期的数字一致。", BODY))
    doc.build(story)
    return buf.getvalue()
