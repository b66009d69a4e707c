"""The monthly bulletin as files and as a mail: HTML (the ``bulletin`` templates of ``notifications/``,
self-contained: styles in the file, charts as HTML), xlsx (openpyxl, with native bar charts), PDF
(WeasyPrint rendering the same HTML; CJK glyphs from the system's fonts, e.g. fonts-noto-cjk), and the
message one reader gets (``app.letters`` delegates to :func:`letter`).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from followup.app.bulletin import BulletinView, build_bulletin
from followup.app.runtime import Runtime
from followup.domain.kinds import Light, Role
from followup.domain.metrics import percent
from followup.domain.timeutil import as_utc, local_day
from followup.errors import ConfigError
from followup.i18n import _
from followup.mail.message import Attachment, OutgoingMessage
from followup.store.models import Official

log = logging.getLogger(__name__)

FORMATS = ("html", "xlsx", "pdf")
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html",
}
#: the lights' colours, lowest first (the same as the mails')
LIGHT_COLORS = (
    ("green", "#2e8b57"),
    ("blue", "#1f78b4"),
    ("yellow", "#e0a800"),
    ("red", "#c00000"),
    ("top", "#6a0000"),
)
_DIGITS = "零一二三四五六七八九十"


def cn_date(day: date) -> str:
    """2026年12月5日"""
    return f"{day.year}年{day.month}月{day.day}日"


def cn_number(n: int) -> str:
    """1 → 一 … 10 → 十, 11 → 十一 (section numbers)."""
    if n <= 10:
        return _DIGITS[n]
    if n < 20:
        return "十" + _DIGITS[n - 10]
    return str(n)


def _number(value: float | Decimal | int) -> str:
    value = float(value)
    return f"{int(value)}" if value == int(value) else f"{value:,.2f}"


def file_name(view: BulletinView, fmt: str) -> str:
    """月通报2026-11.pdf"""
    return f"月通报{view.month}.{fmt}"


def context(
    view: BulletinView, *, recipient: Mapping[str, Any] | None = None, attachment: str | None = None
) -> dict[str, Any]:
    """What the ``bulletin`` templates are given (see notifications/README.md)."""
    flagged = {light: sum(1 for p in view.flagged if p.light == light) for light in ("red", "top")}
    return {
        "b": view,
        "recipient": recipient,
        "attachment": attachment,
        "cn_date": cn_date,
        "cn_number": cn_number,
        "number": _number,
        "pct": percent,
        "flagged_count": lambda light: flagged.get(light, 0),
        "light_colors": LIGHT_COLORS,
        "light_labels": {str(light): light.label for light in Light},
    }


def render(
    rt: Runtime,
    view: BulletinView,
    *,
    recipient: Mapping[str, Any] | None = None,
    attachment: str | None = None,
) -> tuple[str, str, str]:
    """(subject, text, HTML) of the bulletin, from the ``bulletin`` templates (a county's own first)."""
    from followup.mail.templates import render as render_templates

    shown = context(view, recipient=recipient, attachment=attachment)
    return render_templates("bulletin", shown, rt.settings)


def html(rt: Runtime, view: BulletinView) -> str:
    """The bulletin as one self-contained HTML page."""
    return render(rt, view)[2]


def pdf(rt: Runtime, view: BulletinView, page: str | None = None) -> bytes:
    """The bulletin as PDF: WeasyPrint rendering its HTML (A4)."""
    page = page if page is not None else html(rt, view)
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: Pango or its fonts are missing
        raise ConfigError(
            _("cannot make a PDF: WeasyPrint is not usable here ({reason})").format(reason=exc)
        ) from exc
    for noisy in ("weasyprint", "fontTools"):  # its CSS notes are not ours to log
        logging.getLogger(noisy).setLevel(logging.ERROR)
    data: bytes = weasyprint.HTML(string=page).write_pdf()
    return data


def xlsx(view: BulletinView) -> bytes:
    """The bulletin as a workbook: 指标, 红黑榜 (with bar charts of the scores and the lights), 红灯约谈项目,
    超期问题, 督办通知, 漏斗 (a bar chart)."""
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    _figures_sheet(book, view)
    _ranking_sheet(book, view)
    _flagged_sheet(book, view)
    _problems_sheet(book, view)
    _notices_sheet(book, view)
    _funnel_sheet(book, view)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(book: Any, title: str, header: list[str], rows: list[list[Any]], widths: list[int]) -> Any:
    """A sheet of ``book``: a bold header line, the rows, the columns' widths, the header frozen."""
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = book.create_sheet(title)
    ws.append(header)
    for cell in ws[1]:
        cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="F0F0F0")
    for row in rows:
        ws.append(row)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    return ws


def _figures_sheet(book: Any, view: BulletinView) -> None:
    """指标: the figures and indicators against the month before, under the bulletin's title."""
    from openpyxl.styles import Alignment, Font

    figures = _sheet(
        book,
        "指标",
        ["指标", "本月", "分子", "分母", "上月", "变化（百分点）", "口径"],
        [
            [f.label, f.value, f.numerator, f.denominator, f.previous, f.change, f.definition]
            for f in view.figures + view.indicators
        ],
        [18, 10, 10, 10, 10, 14, 80],
    )
    for row in figures.iter_rows(min_row=2, min_col=2, max_col=5):
        for cell in (row[0], row[3]):
            cell.number_format = "0.0%"
    for row in figures.iter_rows(min_row=2, min_col=7, max_col=7):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    figures.insert_rows(1)
    figures["A1"] = f"{view.title}（{view.month_label}） {view.number} 数据截至{view.as_of.isoformat()}"
    figures["A1"].font = Font(bold=True, color="C00000", size=13)
    figures.freeze_panes = "A3"


def _ranking_sheet(book: Any, view: BulletinView) -> None:
    """红黑榜: the units ranked, with their score's components and lights, and two bar charts."""
    weight_names = [name for name, _w in view.score]
    rows = [
        [
            r.kind_label,
            u.rank,
            u.name,
            u.score,
            *(u.components.get(name, 0.0) for name in weight_names),
            u.active,
            *(u.lights[key] for key, _c in LIGHT_COLORS),
            u.stale,
            "红榜" if u in r.best else "黑榜" if u in r.worst else "",
        ]
        for r in view.rankings
        for u in r.units
    ]
    ranking = _sheet(
        book,
        "红黑榜",
        [
            "类别",
            "名次",
            "单位",
            "得分",
            *weight_names,
            "在办",
            *(Light(key).label for key, _c in LIGHT_COLORS),
            "无跟进",
            "榜单",
        ],
        rows,
        [8, 6, 22, 8, *([12] * len(weight_names)), 6, 6, 6, 6, 6, 6, 8, 8],
    )
    ranking.cell(row=len(rows) + 3, column=1, value="得分 = " + view.score_definition)
    if rows:
        _ranking_charts(ranking, len(rows), len(weight_names))


def _ranking_charts(ranking: Any, units: int, weights: int) -> None:
    """The 红黑榜 sheet's charts: the scores, and the lights stacked (``units`` lines, ``weights``
    component columns)."""
    from openpyxl.chart import BarChart, Reference

    n = units + 1
    scores = BarChart()
    scores.type = "bar"
    scores.title = "各单位得分"
    scores.y_axis.title = "得分"
    scores.add_data(Reference(ranking, min_col=4, min_row=1, max_row=n), titles_from_data=True)
    scores.set_categories(Reference(ranking, min_col=3, min_row=2, max_row=n))
    scores.height, scores.width = 3 + 0.6 * units, 16
    ranking.add_chart(scores, f"A{n + 5}")
    lights = BarChart()
    lights.type = "bar"
    lights.grouping = "stacked"
    lights.overlap = 100
    lights.title = "各单位在办项目亮灯情况"
    first_light = 5 + weights + 1
    lights.add_data(
        Reference(ranking, min_col=first_light, max_col=first_light + 4, min_row=1, max_row=n),
        titles_from_data=True,
    )
    lights.set_categories(Reference(ranking, min_col=3, min_row=2, max_row=n))
    for series, (_key, color) in zip(lights.series, LIGHT_COLORS, strict=True):
        series.graphicalProperties.solidFill = color.lstrip("#")
    lights.height, lights.width = 3 + 0.6 * units, 16
    ranking.add_chart(lights, f"J{n + 5}")


def _flagged_sheet(book: Any, view: BulletinView) -> None:
    """红灯约谈项目: the red and 约谈 projects."""
    _sheet(
        book,
        "红灯约谈项目",
        ["灯", "项目编号", "项目", "责任单位", "阶段", "亮灯日期", "超期天数", "包联领导", "责任人"],
        [
            [p.light_label, p.id, p.name, p.unit, p.stage_label, p.since, p.days_past, p.leader, p.officer]
            for p in view.flagged
        ],
        [6, 8, 30, 22, 10, 12, 10, 10, 10],
    )


def _problems_sheet(book: Any, view: BulletinView) -> None:
    """超期问题: the problems past their due date."""
    _sheet(
        book,
        "超期问题",
        ["编号", "项目编号", "项目", "问题", "级别", "牵头单位", "期限", "超期天数"],
        [
            [q.id, q.project_id, q.project, q.text, q.level_label, q.unit, q.due_on, q.days_overdue]
            for q in view.problems
        ],
        [6, 8, 26, 40, 6, 22, 12, 8],
    )


def _notices_sheet(book: Any, view: BulletinView) -> None:
    """督办通知: the open 督办 notices."""
    _sheet(
        book,
        "督办通知",
        ["文号", "项目编号", "项目", "责任单位", "印发日期", "回复期限", "超期天数"],
        [
            [n.number, n.project_id, n.project, n.unit, n.issued_on, n.reply_due, n.days_overdue]
            for n in view.notices
        ],
        [18, 8, 26, 22, 12, 12, 8],
    )


def _funnel_sheet(book: Any, view: BulletinView) -> None:
    """漏斗: the projects that reached each stage, and a bar chart with 线索 on top."""
    from openpyxl.chart import BarChart, Reference

    funnel = _sheet(
        book,
        "漏斗",
        ["阶段", "项目数", "占线索"],
        [[s.label, s.count, s.share] for s in view.funnel],
        [12, 10, 10],
    )
    for row in funnel.iter_rows(min_row=2, min_col=3, max_col=3):
        row[0].number_format = "0.0%"
    if view.funnel:
        chart = BarChart()
        chart.type = "bar"
        chart.title = "项目推进漏斗"
        last = len(view.funnel) + 1
        chart.add_data(Reference(funnel, min_col=2, min_row=1, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(funnel, min_col=1, min_row=2, max_row=last))
        chart.y_axis.scaling.orientation = "minMax"
        chart.x_axis.scaling.orientation = "maxMin"  # 线索 on top, as a funnel reads
        chart.legend = None
        funnel.add_chart(chart, "E2")


def write(rt: Runtime, view: BulletinView, fmt: str) -> bytes:
    """The bulletin in ``fmt`` (html, xlsx, pdf) as bytes."""
    if fmt == "html":
        return html(rt, view).encode("utf-8")
    if fmt == "xlsx":
        return xlsx(view)
    if fmt == "pdf":
        return pdf(rt, view)
    raise ConfigError(_("bad format {fmt!r}; allowed: {allowed}").format(fmt=fmt, allowed=", ".join(FORMATS)))


# --------------------------------------------------------------------------- the mail

#: the bulletins made for the last delivery batches, by (database, month, batch time): every reader of
#: a batch gets the same document, made (and its PDF rendered) once
_MADE: dict[tuple[str, str, str], tuple[BulletinView, Attachment | None]] = {}


def _made(rt: Runtime, month: str, now: datetime) -> tuple[BulletinView, Attachment | None]:
    key = (rt.store.url, month, as_utc(now).isoformat())
    made = _MADE.get(key)
    if made is None:
        view = build_bulletin(rt.at(now), month, issued_on=local_day(now, rt.zone))
        fmt = rt.settings.bulletin_attachment
        attached = None
        if fmt == "pdf":
            try:
                attached = Attachment(file_name(view, fmt), CONTENT_TYPES[fmt], pdf(rt, view))
            except ConfigError as exc:  # no WeasyPrint here: the workbook goes instead, and the log says why
                log.warning("bulletin %s: %s; the xlsx is attached instead", month, exc)
                fmt = "xlsx"
        if fmt == "xlsx":
            attached = Attachment(file_name(view, fmt), CONTENT_TYPES[fmt], xlsx(view))
        if len(_MADE) >= 4:
            _MADE.clear()
        made = _MADE[key] = (view, attached)
    return made


def letter(
    rt: Runtime, month: str, person: Official, role: str, message_id: str, now: datetime
) -> OutgoingMessage:
    """The bulletin of ``month`` as one reader's message: the bulletin as HTML and as text, with the
    PDF (or xlsx, ``FOLLOWUP_BULLETIN_ATTACHMENT``) attached."""
    view, attached = _made(rt, month, now)
    role_label = Role(role).label if role in Role._value2member_map_ else ""
    if role == Role.UNIT_HEAD.value:
        role_label = _("bureau head")
    name, email = person.name, person.email
    recipient = {"name": name, "email": email, "role": role, "role_label": role_label}
    subject, text, page = render(
        rt, view, recipient=recipient, attachment=attached.filename if attached else None
    )
    return OutgoingMessage(
        message_id=message_id,
        to_name=name,
        to_email=email,
        subject=subject,
        text=text,
        html=page,
        attachments=(attached,) if attached else (),
    )
