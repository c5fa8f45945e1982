"""The mediation agreement (人民调解协议书) as a PDF for the parties to sign.

Drawn with reportlab and its built-in Adobe CID font STSong-Light, so Chinese text works
offline with no font file shipped or installed (the PDF viewer supplies the glyphs, as
every Chinese-capable reader does). ID numbers appear masked: the signed paper carries
the full number written by hand, the database never.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy.orm import Session

from civicgrid.audit.service import Origin, record
from civicgrid.auth.models import User
from civicgrid.errors import Conflict
from civicgrid.mediation import service
from civicgrid.mediation.models import PARTY_ROLES, Agreement, Dispute, DisputeParty, MediationOrg
from civicgrid.mediation.parties import parties_of
from civicgrid.settings import get_settings

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

_BASE = ParagraphStyle("base", fontName=FONT, fontSize=11, leading=17, wordWrap="CJK")
_TITLE = ParagraphStyle("title", parent=_BASE, fontSize=20, leading=28, alignment=TA_CENTER, spaceAfter=4)
_SUB = ParagraphStyle("sub", parent=_BASE, fontSize=10, alignment=TA_CENTER, textColor=colors.HexColor("#444444"))
_HEAD = ParagraphStyle("head", parent=_BASE, fontSize=12, leading=20, spaceBefore=8)
_CELL = ParagraphStyle("cell", parent=_BASE, fontSize=10, leading=14)


def _p(text: str, style: ParagraphStyle = _BASE) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def render(*, dispute: Dispute, agreement: Agreement, parties: list[DisputeParty], org: MediationOrg | None,
           mediator_name: str | None) -> bytes:
    """The agreement document as PDF bytes."""
    tz = ZoneInfo(get_settings().timezone)
    signed = agreement.signed_at.astimezone(tz)
    story: list = [
        _p("人民调解协议书" if not agreement.partial else "人民调解协议书（部分达成）", _TITLE),
        _p(f"编号：{dispute.number}　　调解组织：{org.name_zh if org else ''}", _SUB),
        Spacer(1, 6 * mm),
        _p("当事人", _HEAD),
    ]
    rows = [[_p("身份", _CELL), _p("姓名/名称", _CELL), _p("证件号码", _CELL), _p("联系电话", _CELL),
             _p("委托代理人", _CELL)]]
    for party in parties:
        person = party.person
        rows.append([_p(PARTY_ROLES.get(party.role, (party.role,))[0], _CELL), _p(party.name, _CELL),
                     _p((person.id_masked if person else None) or "", _CELL),
                     _p((person.phone_masked if person else None) or "", _CELL), _p(party.agent or "", _CELL)])
    story += [_table(rows, [22 * mm, 38 * mm, 50 * mm, 32 * mm, 28 * mm]),
              _p("纠纷主要事实、争议事项", _HEAD), _p(dispute.description),
              _p("经调解，自愿达成如下协议", _HEAD), _p(agreement.text)]
    if agreement.obligations:
        story.append(_p("履行事项", _HEAD))
        rows = [[_p("序号", _CELL), _p("履行人", _CELL), _p("履行内容", _CELL), _p("金额（元）", _CELL),
                 _p("履行期限", _CELL)]]
        for i, o in enumerate(agreement.obligations, start=1):
            rows.append([_p(str(i), _CELL), _p(o.obligor, _CELL), _p(o.description, _CELL),
                         _p(f"{o.amount:,.2f}" if o.amount is not None else "", _CELL),
                         _p(f"{o.due_on:%Y年%m月%d日}", _CELL)])
        if agreement.total_amount is not None:
            rows.append([_p("", _CELL), _p("", _CELL), _p("合计", _CELL), _p(f"{agreement.total_amount:,.2f}", _CELL),
                         _p("", _CELL)])
        story.append(_table(rows, [14 * mm, 30 * mm, 70 * mm, 28 * mm, 28 * mm]))
    story += [
        _p("履行方式、时限", _HEAD),
        _p("当事人应当按照约定履行。本协议经双方当事人签名（盖章）、调解员签名并加盖人民调解委员会印章后生效；"
           "双方可自协议生效之日起三十日内共同向人民法院申请司法确认。"),
        Spacer(1, 8 * mm),
    ]
    sign_rows = [[_p(f"{PARTY_ROLES.get(p.role, (p.role,))[0]}（签名/盖章）：", _BASE),
                  _p("____________________　　年　　月　　日", _BASE)] for p in parties] or \
        [[_p("当事人（签名/盖章）：", _BASE), _p("____________________　　年　　月　　日", _BASE)]]
    sign_rows.append([_p("调解员（签名）：", _BASE), _p(f"{mediator_name or '____________'}", _BASE)])
    sign_rows.append([_p("调解组织（盖章）：", _BASE), _p(org.name_zh if org else "", _BASE)])
    sign_rows.append([_p("签订日期：", _BASE), _p(f"{signed:%Y年%m月%d日}" + (f"　地点：{agreement.place}"
                                                                         if agreement.place else ""), _BASE)])
    story.append(Table(sign_rows, colWidths=[50 * mm, 120 * mm], rowHeights=[11 * mm] * len(sign_rows)))
    story += [Spacer(1, 6 * mm), _p("本协议书一式三份，双方当事人、人民调解委员会各持一份。", _SUB)]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, title=f"人民调解协议书 {dispute.number}", author="civicgrid",
                            subject=dispute.title)
    doc.build(story)
    return buffer.getvalue()


def _table(rows: list[list], widths: list[float]) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))
    return table


def render_for(*, session: Session, actor: User, origin: Origin, dispute_id: int) -> tuple[bytes, str]:
    """The agreement PDF of a dispute the actor may see; printing is recorded in its history."""
    dispute = service.get_dispute(session=session, actor=actor, dispute_id=dispute_id)
    agreement = service.agreement_of(session=session, dispute=dispute)
    if agreement is None:
        raise Conflict("该纠纷尚未达成调解协议", "No agreement has been reached in this dispute")
    data = render(dispute=dispute, agreement=agreement, parties=parties_of(session=session, dispute_id=dispute.id),
                  org=dispute.org, mediator_name=dispute.mediator.name if dispute.mediator else None)
    record(session=session, actor=actor, origin=origin, entity="dispute", entity_id=dispute.id,
           action="print_agreement", from_state=dispute.state.value, to_state=dispute.state.value,
           after={"agreement_id": agreement.id, "bytes": len(data)})
    return data, f"agreement-{dispute.number}.pdf"
