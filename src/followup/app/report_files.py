"""The report as files: an xlsx workbook and one standalone HTML page (every style inline, no external
asset), made alike for ``followup report --format xlsx|html`` and the web app's downloads."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from followup.app.report import Figure, ReportView
from followup.domain.kinds import Light
from followup.domain.metrics import percent
from followup.domain.shown import amount_text
from followup.i18n import _

NONE = "—"


def shown_number(value: Decimal | int) -> str:
    return amount_text(value) if isinstance(value, Decimal) else str(value)


def fraction(f: Figure) -> str:
    return f"{shown_number(f.numerator)}/{shown_number(f.denominator)}"


def days(value: float | None) -> str:
    if value is None:
        return NONE
    return str(int(value)) if value == int(value) else f"{value:.1f}"


def title(view: ReportView) -> str:
    cohort = (
        _("projects signed in {year} (leads: entered in {year})").format(year=view.cohort)
        if view.cohort is not None
        else _("all years")
    )
    return _("Investment figures as of {day} — {cohort}").format(day=view.as_of.isoformat(), cohort=cohort)


def write_xlsx(view: ReportView, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("figures")
    bold = Font(bold=True)
    sheet.append([title(view)])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([])
    heading = [_("figure"), _("value"), _("numerator"), _("denominator"), _("definition")]

    def block(name: str, figures: Sequence[Figure]) -> None:
        sheet.append([name])
        sheet.cell(sheet.max_row, 1).font = bold
        sheet.append(heading)
        for cell in sheet[sheet.max_row]:
            cell.font = bold
        for f in figures:
            sheet.append([f.label, f.value, _num(f.numerator), _num(f.denominator), f.definition])
            sheet.cell(sheet.max_row, 2).number_format = "0.0%"
            sheet.cell(sheet.max_row, 5).alignment = Alignment(wrap_text=True, vertical="top")
        sheet.append([])

    block(_("figures"), view.figures)
    block(_("四多四少 indicators"), view.indicators)
    for group in view.groups:
        block(group.name, group.figures)
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 10
    sheet.column_dimensions["C"].width = 12
    sheet.column_dimensions["D"].width = 12
    sheet.column_dimensions["E"].width = 90

    times = book.create_sheet(_("stage times"))
    times.append([_("stage"), _("stays"), _("median"), _("90th percentile")])
    for t in view.stage_times:
        times.append([t.label, t.n, t.median, t.p90])
    funnel = book.create_sheet(_("funnel"))
    funnel.append([_("stage"), _("projects")])
    for _key, label, n in view.funnel:
        funnel.append([label, n])
    lights = book.create_sheet(_("lights"))
    lights.append([_("unit"), *(light.label for light in Light)])
    for u in view.lights:
        lights.append([u.name, *(getattr(u, light) for light in Light)])
    for extra in (times, funnel, lights):
        for cell in extra[1]:
            cell.font = bold
        extra.column_dimensions["A"].width = 24
    book.save(path)


def _num(value: Decimal | int) -> float | int:
    return float(value) if isinstance(value, Decimal) else value


def render_html(view: ReportView) -> str:
    """The report as one HTML page, every style inline, no external asset."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(Path(__file__).resolve().parent.parent / "templates")),
        autoescape=select_autoescape(["html", "j2"]),
    )
    template = env.get_template("report.html.j2")
    words = {
        "title": title(view),
        "figures": _("figures"),
        "indicators": _("四多四少 indicators"),
        "figure": _("figure"),
        "value": _("value"),
        "nd": _("n/d"),
        "definition": _("definition"),
        "times": _("Time in each stage (days, completed stays)"),
        "stage": _("stage"),
        "stays": _("stays"),
        "median": _("median"),
        "p90": _("90th percentile"),
        "funnel": _("Funnel (projects that reached each stage)"),
        "projects": _("projects"),
        "lights": _("Lights by unit (as of {now})").format(
            now=view.lights_at.strftime("%Y-%m-%d %H:%M") if view.lights_at else NONE
        ),
        "unit": _("unit"),
    }
    most = max([n for _k, _label, n in view.funnel] + [1])
    return template.render(
        view=view,
        words=words,
        rows=lambda figures: [
            (f.label, percent(f.value), fraction(f), f.definition, f.value) for f in figures
        ],
        days=days,
        funnel=[(label, n, round(100 * n / most)) for _k, label, n in view.funnel],
        light_names=[(light.value, light.label) for light in Light],
    )
