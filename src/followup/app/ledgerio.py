"""The ledger (台账) in and out: ``followup import`` and ``followup export``.

Import reads a county's sheet (:mod:`followup.app.ledgerbook`), reads every cell
(:mod:`followup.domain.ledgercells`), resolves units and officials from one load of each, matches each
line to a stored project (by 项目编号, else by name and unit) and checks everything before anything is
written: one bad cell and nothing is imported, and every bad cell is reported. Then, in one
transaction, new projects are entered as ``project add --stage … --since …`` enters them, and the
changes of known ones are applied and recorded in their history (note ``导入 FILE``). Importing the
same file twice changes nothing the second time.

A ledger says where a project *is*: a stage that differs from the stored one places the project there
(a history line of kind ``move``, not checked against the workflow's moves, the stage's requirements
checked), as of the stage's own date in the ledger (签约日期 for 签约, 实际开工日期 for 开工 …) or of
now. Holding and ending a project take a reason: a ledger's 暂缓/终止 must agree with the project
(``followup hold``, ``followup terminate`` make them). An empty cell never clears a stored value.

``dry_run`` does all of it in the transaction, asks what the first sweep after it would queue (the
sweep's own rules: :func:`followup.domain.ladder.assess` and the roster), and rolls back.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from followup.app import ledgerbook, records
from followup.app.ledger import ProjectFilter, list_projects
from followup.app.ledgerbook import LedgerTable, Mark, Sheet
from followup.app.ledgerforecast import MailForecast, forecast
from followup.app.ledgerlines import MAX_LENGTHS, CellProblem, Problems, Progress, no_progress, read_lines
from followup.app.ledgerplan import FIELD_COLUMNS, Plan, Planner
from followup.app.ledgerwrite import Planned, Writer
from followup.app.runtime import Runtime
from followup.app.views import View
from followup.domain import ledgercells, words
from followup.domain.fields import PROJECT_FIELDS
from followup.domain.kinds import EventKind, Light
from followup.domain.timeutil import local_day
from followup.i18n import _
from followup.store.models import Official, ProjectEvent, Unit

__all__ = [
    "FIELD_COLUMNS",
    "MAX_LENGTHS",
    "CellProblem",
    "ImportNote",
    "ImportResult",
    "MailForecast",
    "Planned",
    "Progress",
    "describe",
    "export_ledger",
    "export_table",
    "import_ledger",
    "ledger_columns",
    "replace_problems",
]

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- views


@dataclass(frozen=True)
class ImportNote(View):
    """A line whose date was not given and was taken as the import day: the stage's recorded date
    (``what`` = ``recorded``: 签约日期 of a line at 签约 with none, then also the day it entered the stage),
    or, the project having that date already, only the day it entered the stage (``what`` = ``stage``).
    Not refused (a county may not know the date), but said: the figures' cohorts and dates hang on it."""

    row: int
    project_id: int | None
    name: str
    stage: str
    stage_label: str
    what: str  # recorded | stage
    field: str  # the stage's recorded date: signed_on, started_on, production_on
    field_label: str
    day: date


@dataclass(frozen=True)
class ImportResult(View):
    file: str
    sheet: str
    rows: int  # project lines read
    skipped: int  # blank, 小计 and 合计 lines
    created: int
    changed: int
    unchanged: int
    dry_run: bool
    problems: tuple[CellProblem, ...] = ()
    unread_columns: tuple[str, ...] = ()
    planned: tuple[Planned, ...] = ()
    mails: tuple[MailForecast, ...] = ()
    notifications: int = 0
    #: the lines whose stage date or recorded date was taken as the import day, by row
    notes: tuple[ImportNote, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


# --------------------------------------------------------------------------- the lines of a sheet


# --------------------------------------------------------------------------- import


def import_ledger(
    rt: Runtime,
    path: Path,
    *,
    by: str,
    sheet: str | None = None,
    dry_run: bool = False,
    progress: Progress[Any] | None = None,
) -> tuple[ImportResult, Sheet, list[Mark]]:
    """Import the ledger ``path``: every line checked before anything is written, all or nothing.
    Returns what was (or, ``dry_run``, would be) done, the sheet read and the marks of its bad cells
    (for :func:`followup.app.ledgerbook.write_report`); with problems, nothing was written."""
    now = rt.now()
    bar = progress or no_progress
    book = ledgerbook.read(path, sheet)
    problems = Problems(book)
    lines, skipped = read_lines(book, problems, bar)
    unread = tuple(text for _i, text in book.unread) + tuple(c.text for c in book.columns if c.key == "phone")
    note = f"导入 {path.name}"  # the history's words (a record, like 离任，项目移交)
    with rt.store.transaction() as session:
        actor = records.official(session, by, what=_("--by official"))
        planner = Planner(rt, session, problems, now)
        plans = [p for p in (planner.plan(line) for line in bar(lines, len(lines), _("checking"))) if p]
        empty = ImportResult(
            str(path), book.name, len(lines), skipped, 0, 0, 0, dry_run, unread_columns=unread
        )
        if problems:
            session.rollback()
            result = replace_problems(empty, [p for p, _m in problems.items])
            return result, book, [m for _p, m in problems.items]
        writer = Writer(rt, session, actor, now, note)
        planned = writer.apply(plans, bar)
        created = sum(1 for p in planned if p.action == "create")
        changed = sum(1 for p in planned if p.action == "change")
        mails: tuple[MailForecast, ...] = ()
        notifications = 0
        if dry_run:
            session.flush()
            mails, notifications = forecast(rt, session, now)
            session.rollback()
        result = ImportResult(
            str(path),
            book.name,
            len(lines),
            skipped,
            created,
            changed,
            len(lines) - created - changed,
            dry_run,
            unread_columns=unread,
            planned=tuple(planned),
            mails=mails,
            notifications=notifications,
            notes=_notes(rt, plans, planned, now),
        )
    if not dry_run and (created or changed):
        log.info("imported %s: %d created, %d changed", path.name, created, changed)
    return result, book, []


def _notes(rt: Runtime, plans: list[Plan], planned: list[Planned], now: datetime) -> tuple[ImportNote, ...]:
    """The lines whose stage date or recorded date the import took as its own day."""
    ids = {p.row: p.project_id for p in planned}
    day = local_day(now, rt.zone)
    out = []
    for plan in plans:
        if plan.undated is None or plan.stage is None:
            continue
        record = plan.workflow.stages[plan.stage].records
        assert record is not None
        out.append(
            ImportNote(
                plan.line.row,
                ids.get(plan.line.row),
                plan.name,
                plan.stage,
                plan.workflow.label_of(plan.stage),
                plan.undated,
                record,
                PROJECT_FIELDS[record].label,
                day,
            )
        )
    return tuple(sorted(out, key=lambda n: n.row))


def replace_problems(result: ImportResult, problems: list[CellProblem]) -> ImportResult:
    from dataclasses import replace

    ordered = sorted(problems, key=lambda p: (p.row, len(p.column), p.column))
    return replace(result, problems=tuple(ordered))


def ledger_columns() -> list[ledgercells.LedgerColumn]:
    """The columns an exported ledger has, in order."""
    return list(ledgercells.COLUMNS[:-1])  # every column but 联系电话 (not kept)


def export_table(rt: Runtime, filters: ProjectFilter, *, template: bool = False) -> LedgerTable:
    """The ledger of the projects ``filters`` choose (as ``project list``), or the template: the
    header, one example line and the instructions."""
    now = rt.now()
    today = local_day(now, rt.zone)
    columns = ledger_columns()
    county = rt.settings.county_name
    # a ledger is a document in the county's language whatever the operator reads: its headers are
    # what the import recognises, its title what a county office prints
    title = f"{county}招商引资项目台账"
    subtitle = f"截止日期：{today.year}年{today.month}月{today.day}日"
    kinds: list[str] = [c.kind for c in columns]
    headers = [c.header for c in columns]
    light_column = next(i for i, c in enumerate(columns) if c.key == "light")
    if template:
        example = _example(today)
        return LedgerTable(
            title, subtitle, headers, kinds, [[example.get(c.key) for c in columns]], [None], light_column,
            _instructions(rt),
        )  # fmt: skip
    views = list_projects(rt, filters)
    with rt.store.reading() as session:
        ids = [v.id for v in views]
        notes: dict[int, str | None] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            latest = (
                select(func.max(ProjectEvent.id))
                .where(ProjectEvent.kind == str(EventKind.FOLLOWUP), ProjectEvent.project_id.in_(chunk))
                .group_by(ProjectEvent.project_id)
            )
            for pid, note in session.execute(
                select(ProjectEvent.project_id, ProjectEvent.note).where(ProjectEvent.id.in_(latest))
            ):
                notes[pid] = note
        official_names = Counter(words.folded(n) for n in session.scalars(select(Official.name)))
        unit_names = Counter(words.folded(n) for n in session.scalars(select(Unit.name)))
    rows: list[list[Any]] = []
    lights: list[str | None] = []
    for seq, v in enumerate(views, start=1):
        light = Light.of_level(v.level)
        cells: dict[str, Any] = {
            "seq": seq,
            "name": v.name,
            "stage": v.stage_label,
            "unit": _unique(v.unit.name, v.unit.key, unit_names),
            "officer": _unique(v.officer.name, v.officer.key, official_names),
            "leader": _unique(v.leader.name, v.leader.key, official_names) if v.leader else None,
            "progress": notes.get(v.id),
            "last_followup": v.last_activity_at.date(),
            "light": v.level_label or Light.GREEN.label,
        }
        for key in FIELD_COLUMNS:
            if key != "leader":
                cells[key] = getattr(v, key)
        rows.append([cells.get(c.key) for c in columns])
        lights.append(None if light is Light.GREEN else str(light))
    return LedgerTable(title, subtitle, headers, kinds, rows, lights, light_column)


def _unique(name: str, key: str, names: Counter[str]) -> str:
    """A name as the ledger writes it: with its key when two share it (李娜（lina）), so that the
    ledger imports back to the same person."""
    return name if names[words.folded(name)] <= 1 else f"{name}（{key}）"


def export_ledger(rt: Runtime, path: Path, filters: ProjectFilter, *, template: bool = False) -> int:
    """Write the ledger (or the template) to ``path`` (.xlsx or .csv); returns how many projects."""
    ledgerbook.kind_of(path)
    table = export_table(rt, filters, template=template)
    ledgerbook.write(path, table)
    return 0 if template else len(table.rows)


def _example(today: date) -> dict[str, Any]:
    return {
        "seq": 1,
        "code": "2026-001",
        "name": "有机杂粮深加工",
        "investor": "某食品有限公司",
        "investor_contact": "王经理",
        "chain": "健康食品",
        "chain_link": "精深加工",
        "amount": Decimal(12000),
        "funds_in_place": Decimal(3000),
        "land": Decimal(50),
        "stage": "已签约",
        "unit": "城关镇人民政府",
        "officer": "李娜",
        "leader": "马县长",
        "source": "以商招商",
        "signed_on": date(today.year, 1, 15),
        "contract_start": date(today.year, 6, 30),
        "progress": "已完成土地预审",
        "last_followup": today,
        "light": Light.GREEN.label,
        "remarks": "示例行，导入前请删除",
    }


#: what each kind of cell takes, as the instructions sheet says it
_FORMS = {
    "text": "文本",
    "note": "文本，可换行",
    "amount": "万元：5000、5,000、8000万元、1.2亿；表头写（亿元）时数字按亿元计",
    "area": "亩：120.5、50亩",
    "date": "2026-8-3、2026/4/8、2026.05.20、2026年9月12日或Excel日期；须有年、月、日",
    "stage": "线索、洽谈（洽谈中）、签约（已签约）、落地/供地、开工（已开工、开工建设）、投产（已投产）；"
    "暂缓、终止须与系统一致",
    "unit": "单位名称或代码（城关镇人民政府、城关镇）",
    "official": "姓名、代码或别名（马县长）；重名时写 姓名（代码）",
    "ignored": "不导入",
}


def _instructions(rt: Runtime) -> list[tuple[str, str, str]]:
    out = [(c.header, "、".join(c.variants), _FORMS[c.kind]) for c in ledgercells.COLUMNS]
    out.append(("", "", ""))
    out.append(("说明", "", "表头所在行须至少有三个可识别的列名；表头之上的标题行、填报单位行不读。"))
    out.append(("", "", "小计、合计行和空行跳过；有一个单元格无法读取时，整个文件都不导入。"))
    out.append(("", "", "按项目编号匹配已有项目，无编号时按项目名称和责任单位匹配；空单元格不清除已有内容。"))
    return out


def describe(changes: dict[str, Any]) -> str:
    """A plan's changes in one line: 合同金额（万元）=12000, 目前进度=签约."""
    parts = []
    for key, value in changes.items():
        spec = PROJECT_FIELDS.get(key)
        label = spec.label if spec else ledgercells.BY_KEY[key].header if key in ledgercells.BY_KEY else key
        after = value[1] if isinstance(value, list) else value
        parts.append(f"{label}={after}")
    return ", ".join(parts)
