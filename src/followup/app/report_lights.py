"""The ladder's lights as of a past day (``followup report --as-of``, the monthly bulletin of a past month):
each project's clock — stage, stage entry, deadline, expected restart date, last activity — and its unit
and people as they stood at the end of the day (in the county's zone), rebuilt from the history, then
assessed with the pure ladder (``domain.ladder.assess``) at the end of that day.

Most projects have no line of history dated after the day that could change their clock: their row as
it is now is how they stood (one query for all, :func:`reporting.standing_rows`). The others are
rebuilt from their own lines (one more query, :func:`reporting.clock_lines`): replayed in the order
they were written up to the day, as ``app.moves``, ``app.ledger`` and ``app.ledgerwrite`` wrote them —
a stage entry computes its deadline (``domain.deadlines``: the contract date of the stage, else its
limit; after a hold, the held deadline pushed back by the pause), an extension or an edit sets the
deadline it recorded, a follow-up, a report or a move is activity, an edit or a hand-over sets the
fields it records. The fields a line needs (the workflow, the contract dates, the unit and people) start
as the first line that changed them says they were, else as they are now.

"As of a day" is what had happened by its end (each line's ``at``), as in ``app.report``. Voided
projects never count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from followup.app.board import UnitLights, status_board
from followup.app.records import placements
from followup.app.runtime import Runtime
from followup.domain import deadlines
from followup.domain.fields import DATE_FIELDS
from followup.domain.kinds import Light
from followup.domain.ladder import Memo, assess
from followup.domain.notices import ProjectClock
from followup.domain.timeutil import as_utc, in_zone, local_day, start_of_day
from followup.domain.workflow import ON_HOLD, TERMINATED, Workflow
from followup.store import reporting


@dataclass(frozen=True)
class Standing:
    """A project as it stood at the end of a day: its clock (what the ladder reads), its held stage,
    its unit and people (ids)."""

    id: int
    clock: ProjectClock
    held_stage: str | None
    unit_id: int
    officer_id: int
    leader_id: int | None


def end_of(as_of: date, rt: Runtime) -> datetime:
    """The last instant of ``as_of`` in the county's zone: the ladder is assessed then."""
    return start_of_day(as_of + timedelta(days=1), rt.zone) - timedelta(microseconds=1)


def standings(rt: Runtime, conn: Connection, as_of: date, *, with_ended: bool = False) -> list[Standing]:
    """Every project (not voided) entered by the end of ``as_of``, as it stood then, in id order;
    without ``with_ended`` only those not terminated by then."""
    end = start_of_day(as_of + timedelta(days=1), rt.zone)
    rows = reporting.standing_rows(conn, end, with_ended=with_ended)
    changed = {r.id: r for r in rows if r.later}
    rebuilt = _rebuild(rt, conn, end, changed) if changed else {}
    out: list[Standing] = []
    for row in rows:
        if not row.later:
            clock = ProjectClock.from_row(row)
            out.append(Standing(row.id, clock, row.held_stage, row.unit_id, row.officer_id, row.leader_id))
            continue
        standing = rebuilt.get(row.id)
        if standing is not None and (with_ended or standing.clock.stage != TERMINATED):
            out.append(standing)
    return out


def lights(rt: Runtime, as_of: date, today: date) -> tuple[list[UnitLights], datetime]:
    """The lights by unit of a report as of ``as_of`` and when they are from: of a past day, as of its
    end (:func:`lights_by_unit`); of today, the status board now."""
    if as_of >= today:
        board = status_board(rt)
        return board.units, board.now
    with rt.store.reading() as session:
        return lights_by_unit(rt, session.connection(), as_of), in_zone(end_of(as_of, rt), rt.zone)


def lights_by_unit(rt: Runtime, conn: Connection, as_of: date) -> list[UnitLights]:
    """The status board's lines (``app.board``: each unit's active projects by light, stale, on hold)
    as of the end of ``as_of``, counted as the board counts them."""
    at = end_of(as_of, rt)
    units = {uid: (key, name) for uid, key, name in conn.execute(text("SELECT id, key, name FROM units"))}
    lines: dict[str, UnitLights] = {}
    placed_in = placements(rt)
    memo: Memo = {}
    for s in standings(rt, conn, as_of):
        key, name = units[s.unit_id]
        line = lines.setdefault(key, UnitLights(key, name))
        placed = placed_in(s.clock.workflow, s.clock.stage)
        if s.clock.stage == ON_HOLD:
            line.count("on_hold")
            if placed.workflow is not None and s.clock.hold_until is not None:  # 暂缓到期 lights it too
                light = assess(placed.workflow, s.clock, at, rt.calendar, rt.zone, memo).light
                if light is not Light.GREEN:
                    line.count(light)
            continue
        workflow = placed.workflow
        if workflow is None or placed.problem is not None or workflow.is_final(s.clock.stage):
            continue  # stranded (the board warns of it), or at its end
        assessment = assess(workflow, s.clock, at, rt.calendar, rt.zone, memo)
        line.count(assessment.light)
        if assessment.stale_since:
            line.count("stale")
    return [lines[k] for k in sorted(lines)]


# --------------------------------------------------------------------------- rebuilt from the lines


#: The fields a line of history may change that a project's clock depends on (beside its dates).
_FIELDS = ("workflow", "unit", "officer", "leader")


@dataclass
class _Replay:
    """A project's clock while its lines are replayed (:func:`_replay`)."""

    values: dict[str, Any]  # the workflow, unit, officer, leader (keys) and contract dates
    stage: str | None = None
    stage_since: datetime | None = None
    deadline: date | None = None
    deadline_version: int = 1
    stage_seq: int = 0
    last: datetime | None = None
    hold_until: date | None = None
    held_stage: str | None = None
    held_since: datetime | None = None
    held_deadline: date | None = None
    entered: bool = False  # its entry line was read


def _rebuild(rt: Runtime, conn: Connection, end: datetime, rows: dict[int, Any]) -> dict[int, Standing]:
    """The projects ``rows`` (their rows now, by id) as they stood at ``end``, rebuilt from their lines."""
    loaded = _workflows(rt)
    dated = sorted(
        {s.contract_deadline for wf in loaded.values() for s in wf.stages.values() if s.contract_deadline}
        & set(DATE_FIELDS)
    )
    dates = reporting.project_dates(conn, end, dated)
    unit_keys: dict[int, str] = {i: k for i, k in conn.execute(text("SELECT id, key FROM units"))}
    people: dict[int, str] = {i: k for i, k in conn.execute(text("SELECT id, key FROM officials"))}
    unit_ids = {k: i for i, k in unit_keys.items()}
    people_ids = {k: i for i, k in people.items()}
    out: dict[int, Standing] = {}
    for pid, lines in _by_project(reporting.clock_lines(conn, end)):
        row = rows.get(pid)
        if row is None:
            continue
        now = {
            "workflow": row.workflow,
            "unit": unit_keys.get(row.unit_id),
            "officer": people.get(row.officer_id),
            "leader": people.get(row.leader_id),
            **dates.get(pid, {}),
        }
        state = _replay(rt, _first_values(now, lines), [ln for ln in lines if as_utc(ln.at) < end], loaded)
        if state is None or state.stage is None:
            continue
        clock = ProjectClock(
            workflow=state.values["workflow"],
            stage=state.stage,
            deadline=state.deadline,
            deadline_version=state.deadline_version,
            stage_seq=state.stage_seq,
            last_activity_at=state.last or as_utc(row.last_activity_at),
            hold_until=state.hold_until,
        )
        unit = unit_ids.get(state.values["unit"], row.unit_id)
        officer = people_ids.get(state.values["officer"], row.officer_id)
        leader = people_ids.get(state.values["leader"]) if state.values["leader"] else None
        out[pid] = Standing(pid, clock, state.held_stage, unit, officer, leader)
    return out


def _workflows(rt: Runtime) -> dict[str, Workflow]:
    """The workflows that load, by name."""
    return {n: rt.workflows.get(n) for n in rt.workflows.names() if rt.workflows.problem(n) is None}


def _by_project(lines: Sequence[Any]) -> Iterable[tuple[int, list[Any]]]:
    """The lines (ordered by project) grouped per project."""
    batch: list[Any] = []
    for line in lines:
        if batch and batch[0].project_id != line.project_id:
            yield batch[0].project_id, batch
            batch = []
        batch.append(line)
    if batch:
        yield batch[0].project_id, batch


def _first_values(now: dict[str, Any], lines: list[Any]) -> dict[str, Any]:
    """The fields as the project was entered with them: each as its first recorded change says it was
    before, else as it is now."""
    values = dict(now)
    changed: set[str] = set()
    for line in lines:
        for name, change in (line.changes or {}).items():
            if name in values and name not in changed and isinstance(change, list) and len(change) == 2:
                changed.add(name)
                values[name] = _field(name, change[0])
    return values


def _field(name: str, raw: Any) -> Any:
    """A field's value as a line records it (dates as ISO text)."""
    if raw is None or name in _FIELDS:
        return raw
    return raw if isinstance(raw, date) else date.fromisoformat(str(raw)[:10])


def _replay(
    rt: Runtime, values: dict[str, Any], lines: list[Any], loaded: dict[str, Workflow]
) -> _Replay | None:
    """The clock after ``lines`` (those dated by the day, in the order they were written)."""
    state = _Replay(values)
    for line in lines:
        step = _STEPS.get(line.kind)
        if step is not None:
            step(rt, state, line, loaded)
    return state if state.entered else None


def _set_fields(state: _Replay, changes: dict[str, Any] | None) -> None:
    """The tracked fields a line changed, as they were after it."""
    for name, change in (changes or {}).items():
        if name in state.values and isinstance(change, list) and len(change) == 2:
            state.values[name] = _field(name, change[1])


def _entered(rt: Runtime, state: _Replay, line: Any, loaded: dict[str, Workflow]) -> None:
    """The entry line: the first stage, its deadline, the quiet clock: from when the project was typed
    in, or from the last follow-up it was entered with — the later of that and its entry, but for a
    ledger line (its entry names its unit) with no stage date, which starts it at that follow-up
    (``app.ledger._quiet_from``, ``app.ledgerplan``)."""
    state.entered = True
    at = as_utc(line.at)
    state.stage, state.stage_since, state.stage_seq = line.to_stage, at, 1
    workflow = loaded.get(state.values["workflow"])
    day = local_day(at, rt.zone)
    state.deadline = None
    if workflow is not None:
        state.deadline = deadlines.on_entry(workflow, line.to_stage, day, state.values, rt.calendar)
    entry = line.changes or {}
    followed = entry.get("last_followup")
    if not isinstance(followed, str):
        state.last = as_utc(line.recorded_at)
    elif "unit" in entry and at == as_utc(line.recorded_at):
        state.last = _instant(rt, followed)
    else:
        state.last = max(at, _instant(rt, followed))


def _moved(rt: Runtime, state: _Replay, line: Any, loaded: dict[str, Workflow]) -> None:
    """A stage move (``app.moves._enter``, ``app.ledgerwrite``): the fields it recorded, then the stage
    entered, its deadline and a fresh ladder."""
    _set_fields(state, line.changes)
    at, target = as_utc(line.at), line.to_stage
    day = local_day(at, rt.zone)
    workflow = loaded.get(state.values["workflow"])
    if target == ON_HOLD:
        state.held_stage, state.held_since, state.held_deadline = state.stage, at, state.deadline
        until = (line.changes or {}).get("until")
        state.hold_until = date.fromisoformat(until[:10]) if isinstance(until, str) else None
        state.deadline = None
    elif target == TERMINATED or workflow is None:
        state.deadline = None
    elif state.stage == ON_HOLD:
        held_on = local_day(state.held_since, rt.zone) if state.held_since else day
        stage = workflow.stages.get(state.held_stage or "")
        state.deadline = deadlines.on_resume(stage, state.held_deadline, held_on, day, rt.calendar)
        state.held_stage = state.held_since = state.held_deadline = state.hold_until = None
    else:
        state.deadline = deadlines.on_entry(workflow, target, day, state.values, rt.calendar)
    state.stage, state.stage_since = target, at
    state.stage_seq += 1
    state.last = max(state.last or at, at)


def _active(rt: Runtime, state: _Replay, line: Any, loaded: dict[str, Workflow]) -> None:
    """A follow-up or a report in a round: activity."""
    at = as_utc(line.at)
    state.last = max(state.last or at, at)


def _extended(rt: Runtime, state: _Replay, line: Any, loaded: dict[str, Workflow]) -> None:
    """An extension (延期): the deadline it recorded, a fresh ladder."""
    change = (line.changes or {}).get("deadline")
    if isinstance(change, list) and len(change) == 2:
        state.deadline = _field("deadline", change[1])
        state.deadline_version += 1


def _edited(rt: Runtime, state: _Replay, line: Any, loaded: dict[str, Workflow]) -> None:
    """An edit (by hand or by a ledger): its fields, a stranded project placed in a stage, a recomputed
    deadline, a later last follow-up."""
    changes = line.changes or {}
    _set_fields(state, changes)
    placed = changes.get("stage")
    if isinstance(placed, list) and len(placed) == 2:
        state.stage = placed[1]
        state.stage_seq += 1
    held = changes.get("held_stage")
    if isinstance(held, list) and len(held) == 2:
        state.held_stage = held[1]
    _extended(rt, state, line, loaded)
    followed = changes.get("last_followup")
    if isinstance(followed, list) and len(followed) == 2 and isinstance(followed[1], str):
        state.last = _instant(rt, followed[1])


def _handed_over(rt: Runtime, state: _Replay, line: Any, loaded: dict[str, Workflow]) -> None:
    """A hand-over (an official left): the officer or leader it recorded."""
    _set_fields(state, line.changes)


_STEPS: dict[str, Callable[[Runtime, _Replay, Any, dict[str, Workflow]], None]] = {
    "created": _entered,
    "move": _moved,
    "followup": _active,
    "report": _active,
    "extend": _extended,
    "edit": _edited,
    "reassign": _handed_over,
}


def _instant(rt: Runtime, shown: str) -> datetime:
    """A time a line records as text (ISO, in the county's zone when it names none), in UTC."""
    value = datetime.fromisoformat(shown)
    return as_utc(value if value.tzinfo else value.replace(tzinfo=rt.zone))
