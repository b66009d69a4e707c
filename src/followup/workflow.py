"""Lifecycles as data: load, validate and run a workflow file (``workflows/*.yaml``).

A workflow declares its stages (with Simplified-Chinese labels, a time limit, the fields that must be
recorded before the stage can be entered, a staleness limit), the allowed moves between them, which
stages can be put on hold or terminated, and the escalation ladder. Loading checks all of it and
raises :class:`~followup.errors.WorkflowError` naming the file, the key, the line and what is allowed.

Moves are checked by one ``transitions.Machine`` per workflow, shared by every project: a project is
attached to it only for the duration of one check (``add_model``/``remove_model``), never one Machine
per row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from transitions import Machine

from followup.errors import GuardFailed, InvalidInput, MoveRefused, UnknownWorkflow, WorkflowError
from followup.fields import DATE_FIELDS, PROJECT_FIELDS, ROLES
from followup.timeutil import add_months
from followup.workdays import WorkCalendar

ON_HOLD = "on_hold"
TERMINATED = "terminated"
SIDE_STATES = (ON_HOLD, TERMINATED)

Unit = Literal["working_days", "days", "months"]
UNITS: dict[str, str] = {"working_days": "个工作日", "days": "天", "months": "个月"}
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")

Path_ = tuple[str | int, ...]


# --------------------------------------------------------------------------- YAML with line numbers


class _Loaded:
    """A YAML document as plain data plus the line of every node, by path."""

    def __init__(self, data: Any, lines: dict[Path_, int]) -> None:
        self.data = data
        self.lines = lines


def _compose(text: str, file: str) -> _Loaded:
    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        node = yaml.compose(text, Loader=loader_cls)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise WorkflowError(f"bad YAML: {exc.problem or exc}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise WorkflowError(f"bad YAML: {exc}", file=file) from None
    lines: dict[Path_, int] = {}
    if node is None:
        return _Loaded(None, lines)
    constructor = loader_cls("")

    def build(n: yaml.Node, path: Path_) -> Any:
        lines[path] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in n.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise WorkflowError(
                        "a key must be a plain name",
                        file=file,
                        key=_fmt(path),
                        line=key_node.start_mark.line + 1,
                    )
                key = key_node.value
                if key in out:
                    raise WorkflowError(
                        f"duplicate key {key!r}",
                        file=file,
                        key=_fmt((*path, key)),
                        line=key_node.start_mark.line + 1,
                    )
                out[key] = build(value_node, (*path, key))
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(item, (*path, i)) for i, item in enumerate(n.value)]
        # Scalars: let PyYAML's safe constructor resolve ints, bools, dates, null.
        if n.tag == "tag:yaml.org,2002:str":
            return n.value
        return constructor.construct_object(n, deep=True)

    return _Loaded(build(node, ()), lines)


def _fmt(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Limit:
    """A span of time: N working days, N calendar days or N months (N may be negative in ``at``)."""

    unit: Unit
    amount: int

    def apply(self, start: date, calendar: WorkCalendar) -> date:
        if self.unit == "working_days":
            if self.amount >= 0:
                return calendar.add_working_days(start, self.amount)
            day, remaining = start, -self.amount
            while remaining:
                day -= timedelta(days=1)
                if calendar.is_workday(day):
                    remaining -= 1
            return day
        if self.unit == "days":
            return start + timedelta(days=self.amount)
        return add_months(start, self.amount)

    def label(self) -> str:
        return f"{abs(self.amount)}{UNITS[self.unit]}"

    def to_dict(self) -> dict[str, int]:
        return {self.unit: self.amount}


@dataclass(frozen=True)
class Level:
    """One rung of the escalation ladder, reached ``at`` past the deadline (negative: before it)."""

    key: str
    label: str
    at: Limit
    notify: tuple[str, ...]
    repeat: Limit | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.key,
            "label": self.label,
            "at": self.at.to_dict(),
            "notify": list(self.notify),
            "repeat": self.repeat.to_dict() if self.repeat else None,
        }


@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    limit: Limit | None
    staleness: Limit | None
    requires: tuple[str, ...] = ()
    records: str | None = None
    contract_deadline: str | None = None
    final: bool = False
    ladder: tuple[Level, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "limit": self.limit.to_dict() if self.limit else None,
            "staleness": self.staleness.to_dict() if self.staleness else None,
            "requires": list(self.requires),
            "records": self.records,
            "contract_deadline": self.contract_deadline,
            "final": self.final,
            "ladder": [level.to_dict() for level in self.ladder],
        }


@dataclass
class MoveSubject:
    """What a move is checked against: the project's stage and its fields as they would be after it."""

    state: str
    values: Mapping[str, Any]
    held_stage: str | None = None
    reason: str | None = None
    until: date | None = None


@dataclass(frozen=True)
class Workflow:
    name: str
    label: str
    file: str
    stages: dict[str, Stage]
    moves: dict[str, tuple[str, ...]]
    hold_label: str
    hold_from: tuple[str, ...]
    terminate_label: str
    terminate_from: tuple[str, ...]
    ladder: tuple[Level, ...] = field(default=())

    # ---- questions

    @property
    def first(self) -> str:
        return next(iter(self.stages))

    def states(self) -> list[str]:
        return [*self.stages, ON_HOLD, TERMINATED]

    def label_of(self, state: str) -> str:
        if state == ON_HOLD:
            return self.hold_label
        if state == TERMINATED:
            return self.terminate_label
        stage = self.stages.get(state)
        return stage.label if stage else state

    def stage(self, key: str) -> Stage:
        try:
            return self.stages[key]
        except KeyError:
            raise InvalidInput(
                f"unknown stage {key!r} in workflow {self.name}; stages: {', '.join(self.states())}"
            ) from None

    def check_state(self, key: str) -> str:
        if key not in self.states():
            raise InvalidInput(
                f"unknown stage {key!r} in workflow {self.name}; stages: {', '.join(self.states())}"
            )
        return key

    def is_final(self, key: str) -> bool:
        stage = self.stages.get(key)
        return stage is not None and stage.final

    def required_at(self, key: str) -> list[str]:
        """Every field required to be at stage ``key``: its own and those of the stages before it."""
        out: list[str] = []
        for stage in self.stages.values():
            out.extend(f for f in stage.requires if f not in out)
            if stage.key == key:
                break
        return out

    def ladder_for(self, key: str) -> tuple[Level, ...]:
        stage = self.stages.get(key)
        return stage.ladder if stage and stage.ladder else self.ladder

    def allowed_from(self, state: str, held_stage: str | None = None) -> list[str]:
        """Every state a project in ``state`` may move to: its moves in file order, then hold, terminate."""
        if state == ON_HOLD:
            out = [held_stage] if held_stage else []
            return out + ([TERMINATED] if ON_HOLD in self.terminate_from else [])
        out = list(self.moves.get(state, ()))
        if state in self.hold_from:
            out.append(ON_HOLD)
        if state in self.terminate_from:
            out.append(TERMINATED)
        return out

    # ---- the shared state machine

    @cached_property
    def machine(self) -> Machine:
        machine = Machine(
            model=None,
            states=self.states(),
            transitions=list(self._transitions()),
            initial=None,
            auto_transitions=False,
            send_event=True,
        )
        return machine

    def _transitions(self) -> Iterator[dict[str, Any]]:
        for source, targets in self.moves.items():
            for target in targets:
                yield {
                    "trigger": target,
                    "source": source,
                    "dest": target,
                    "conditions": [self._guard(target)],
                }
        if self.hold_from:
            yield {
                "trigger": ON_HOLD,
                "source": list(self.hold_from),
                "dest": ON_HOLD,
                "conditions": [_hold_guard],
            }
            for stage in self.hold_from:
                yield {"trigger": stage, "source": ON_HOLD, "dest": stage, "conditions": [_resume_guard]}
        if self.terminate_from:
            yield {
                "trigger": TERMINATED,
                "source": list(self.terminate_from),
                "dest": TERMINATED,
                "conditions": [_terminate_guard],
            }

    def _guard(self, target: str) -> Callable[[Any], bool]:
        stage = self.stages[target]

        def guard(event: Any) -> bool:
            subject: MoveSubject = event.model
            missing = [f for f in stage.requires if subject.values.get(f) in (None, "")]
            if missing:
                names = ", ".join(f"{PROJECT_FIELDS[f].label} ({f})" for f in missing)
                raise GuardFailed(
                    f"cannot enter {stage.label} ({stage.key}): missing {names}; "
                    f"record with --set FIELD=VALUE or `followup project edit`"
                )
            return True

        return guard

    def check_move(self, subject: MoveSubject, target: str) -> None:
        """Raise MoveRefused/GuardFailed unless ``subject`` may move to ``target``; else return."""
        self.check_state(target)
        source = subject.state
        if target == source:
            raise MoveRefused(f"the project is already in {self.label_of(source)} ({source})")
        allowed = self.allowed_from(source, subject.held_stage)
        if target not in allowed:
            names = ", ".join(f"{s} ({self.label_of(s)})" for s in allowed) or "none"
            raise MoveRefused(
                f"cannot move from {self.label_of(source)} ({source}) to "
                f"{self.label_of(target)} ({target}); allowed: {names}"
            )
        machine = self.machine
        machine.add_model(subject, initial=source)
        try:
            if not subject.trigger(target):  # type: ignore[attr-defined]
                raise MoveRefused(f"move to {target} refused")
        finally:
            machine.remove_model(subject)

    # ---- output

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "file": self.file,
            "stages": [s.to_dict() for s in self.stages.values()],
            "moves": [{"from": s, "to": list(t)} for s, t in self.moves.items()],
            "hold": {"label": self.hold_label, "from": list(self.hold_from)},
            "terminate": {"label": self.terminate_label, "from": list(self.terminate_from)},
            "ladder": [level.to_dict() for level in self.ladder],
        }

    def mermaid(self) -> str:
        """A mermaid ``stateDiagram-v2`` drawn by transitions' own mermaid engine."""
        from transitions.extensions.diagrams import GraphMachine  # only for --mermaid

        class _Diagram:
            pass

        transitions = []
        for t in self._transitions():
            label = "恢复" if t["source"] == ON_HOLD else self.label_of(t["dest"])
            transitions.append(
                {"trigger": t["trigger"], "source": t["source"], "dest": t["dest"], "label": label}
            )
        model = _Diagram()
        GraphMachine(
            model=model,
            states=self.states(),
            transitions=transitions,
            initial=self.first,
            auto_transitions=False,
            graph_engine="mermaid",
            show_state_attributes=False,
            title=f"{self.label} ({self.name})",
        )
        text: str = model.get_graph().draw(None)  # type: ignore[attr-defined]
        # mermaid reads front matter as YAML: the title must be a `title:` key to be shown
        text = text.replace(
            f"---\n{self.label} ({self.name})\n---", f"---\ntitle: {self.label} ({self.name})\n---", 1
        )
        for state in self.states():
            # transitions names a state by its key; show the Chinese label too
            text = text.replace(
                f'state "{state}" as {state}', f'state "{self.label_of(state)} {state}" as {state}'
            )
        return text


def _hold_guard(event: Any) -> bool:
    subject: MoveSubject = event.model
    if not subject.reason or subject.until is None:
        raise GuardFailed(
            "putting a project on hold needs a reason (--note) and an expected restart date (--until)"
        )
    return True


def _resume_guard(event: Any) -> bool:
    subject: MoveSubject = event.model
    if event.transition.dest != subject.held_stage:
        raise MoveRefused(f"a project on hold resumes to the stage it was held in ({subject.held_stage})")
    return True


def _terminate_guard(event: Any) -> bool:
    subject: MoveSubject = event.model
    if not subject.reason:
        raise GuardFailed("terminating a project needs a reason (--note)")
    return True


# --------------------------------------------------------------------------- parsing and validation


class _Checker:
    """Turns the loaded YAML into a Workflow, or raises the first error with file, key and line."""

    TOP_KEYS = ("name", "label", "description", "stages", "moves", "hold", "terminate", "ladder", "staleness")
    STAGE_KEYS = (
        "key",
        "label",
        "limit",
        "staleness",
        "requires",
        "records",
        "contract_deadline",
        "final",
        "ladder",
    )
    LEVEL_KEYS = ("level", "label", "at", "notify", "repeat")

    def __init__(self, loaded: _Loaded, file: str) -> None:
        self.loaded = loaded
        self.file = file

    def fail(self, path: Path_, message: str) -> WorkflowError:
        line = None
        probe = path
        while probe and line is None:
            line = self.loaded.lines.get(probe)
            probe = probe[:-1]
        if line is None:
            line = self.loaded.lines.get(())
        return WorkflowError(message, file=self.file, key=_fmt(path), line=line)

    def mapping(self, value: Any, path: Path_, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping with keys {', '.join(allowed)}")
        for key in value:
            if key not in allowed:
                raise self.fail((*path, key), f"unknown key {key!r}; allowed: {', '.join(allowed)}")
        return value

    def text(self, value: Any, path: Path_) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, "expected a non-empty text")
        if any(c in value for c in "\r\n"):
            raise self.fail(path, "a label must be one line")
        return value.strip()

    def key(self, value: Any, path: Path_) -> str:
        if not isinstance(value, str) or not _KEY_RE.match(value):
            raise self.fail(
                path, f"bad name {value!r}: use lower-case letters, digits and _ (e.g. land_prep)"
            )
        return value

    def limit(self, value: Any, path: Path_, *, signed: bool = False) -> Limit:
        allowed = ", ".join(UNITS)
        if not isinstance(value, dict) or len(value) != 1:
            raise self.fail(path, f"expected one of {allowed} with a whole number, e.g. {{days: 30}}")
        ((unit, amount),) = value.items()
        if unit not in UNITS:
            raise self.fail((*path, unit), f"unknown unit {unit!r}; allowed: {allowed}")
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise self.fail((*path, unit), f"expected a whole number of {unit}, got {amount!r}")
        if not signed and amount <= 0:
            raise self.fail((*path, unit), f"expected a positive number of {unit}, got {amount}")
        return Limit(unit, amount)

    def stage_list(
        self, value: Any, path: Path_, stages: Mapping[str, Any], *, extra: tuple[str, ...] = ()
    ) -> tuple[str, ...]:
        items = value if isinstance(value, list) else [value]
        out = []
        for i, item in enumerate(items):
            where = (*path, i) if isinstance(value, list) else path
            if item not in stages and item not in extra:
                allowed = ", ".join([*stages, *extra])
                raise self.fail(where, f"unknown stage {item!r}; stages: {allowed}")
            out.append(item)
        return tuple(out)

    def ladder(self, value: Any, path: Path_) -> tuple[Level, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(path, "expected a list of levels (level, label, at, notify)")
        levels: list[Level] = []
        for i, raw in enumerate(value):
            where = (*path, i)
            raw = self.mapping(raw, where, self.LEVEL_KEYS)
            for required in ("level", "label", "at", "notify"):
                if required not in raw:
                    raise self.fail(where, f"missing {required!r}")
            key = self.key(raw["level"], (*where, "level"))
            if any(level.key == key for level in levels):
                raise self.fail((*where, "level"), f"duplicate level {key!r}")
            at = self.limit(raw["at"], (*where, "at"), signed=True)
            notify = raw["notify"] if isinstance(raw["notify"], list) else [raw["notify"]]
            if not notify:
                raise self.fail((*where, "notify"), f"name at least one role: {', '.join(ROLES)}")
            for j, role in enumerate(notify):
                if role not in ROLES:
                    raise self.fail(
                        (*where, "notify", j), f"unknown role {role!r}; allowed: {', '.join(ROLES)}"
                    )
            repeat = self.limit(raw["repeat"], (*where, "repeat")) if raw.get("repeat") is not None else None
            levels.append(Level(key, self.text(raw["label"], (*where, "label")), at, tuple(notify), repeat))
        return tuple(levels)

    def run(self, expected_name: str | None) -> Workflow:
        top = self.loaded.data
        if top is None:
            raise self.fail((), "the file is empty; expected a mapping with name, stages, moves")
        top = self.mapping(top, (), self.TOP_KEYS)
        for required in ("name", "label", "stages", "moves"):
            if required not in top:
                raise self.fail((), f"missing {required!r}")
        name = self.key(top["name"], ("name",))
        if expected_name and name != expected_name:
            raise self.fail(("name",), f"name {name!r} must match the file name {expected_name!r}")
        default_staleness = (
            self.limit(top["staleness"], ("staleness",)) if top.get("staleness") is not None else None
        )

        raw_stages = top["stages"]
        if not isinstance(raw_stages, list) or not raw_stages:
            raise self.fail(("stages",), "expected a list of stages (key, label, limit, ...)")
        keys_seen: dict[str, int] = {}
        for i, raw in enumerate(raw_stages):
            raw = self.mapping(raw, ("stages", i), self.STAGE_KEYS)
            if "key" not in raw:
                raise self.fail(("stages", i), "missing 'key'")
            key = self.key(raw["key"], ("stages", i, "key"))
            if key in SIDE_STATES:
                raise self.fail(
                    ("stages", i, "key"), f"{key!r} is reserved for the side state; pick another name"
                )
            if key in keys_seen:
                raise self.fail(
                    ("stages", i, "key"), f"duplicate stage {key!r} (also stages[{keys_seen[key]}])"
                )
            keys_seen[key] = i

        stages: dict[str, Stage] = {}
        for i, raw in enumerate(raw_stages):
            where: Path_ = ("stages", i)
            if "label" not in raw:
                raise self.fail(where, "missing 'label'")
            final = raw.get("final", False)
            if not isinstance(final, bool):
                raise self.fail((*where, "final"), "expected true or false")
            limit = self.limit(raw["limit"], (*where, "limit")) if raw.get("limit") is not None else None
            if limit is None and not final:
                raise self.fail(where, "a stage that is not final needs a limit, e.g. limit: {days: 90}")
            requires = raw.get("requires") or []
            if not isinstance(requires, list):
                requires = [requires]
            for j, name_ in enumerate(requires):
                if name_ not in PROJECT_FIELDS:
                    raise self.fail(
                        (*where, "requires", j),
                        f"unknown field {name_!r}; allowed: {', '.join(PROJECT_FIELDS)}",
                    )
            for opt in ("records", "contract_deadline"):
                if raw.get(opt) is not None and raw[opt] not in DATE_FIELDS:
                    raise self.fail(
                        (*where, opt), f"unknown date field {raw[opt]!r}; allowed: {', '.join(DATE_FIELDS)}"
                    )
            staleness = (
                self.limit(raw["staleness"], (*where, "staleness"))
                if raw.get("staleness") is not None
                else default_staleness
            )
            ladder = self.ladder(raw["ladder"], (*where, "ladder")) if raw.get("ladder") is not None else ()
            stages[raw["key"]] = Stage(
                key=raw["key"],
                label=self.text(raw["label"], (*where, "label")),
                limit=limit,
                staleness=staleness,
                requires=tuple(requires),
                records=raw.get("records"),
                contract_deadline=raw.get("contract_deadline"),
                final=final,
                ladder=ladder,
            )

        moves: dict[str, list[str]] = {}
        raw_moves = top["moves"]
        if not isinstance(raw_moves, list):
            raise self.fail(("moves",), "expected a list of {from: STAGE, to: STAGE or [STAGES]}")
        for i, raw in enumerate(raw_moves):
            where = ("moves", i)
            raw = self.mapping(raw, where, ("from", "to"))
            for required in ("from", "to"):
                if required not in raw:
                    raise self.fail(where, f"missing {required!r}")
            sources = self.stage_list(raw["from"], (*where, "from"), stages)
            targets = self.stage_list(raw["to"], (*where, "to"), stages)
            for source in sources:
                if stages[source].final:
                    raise self.fail((*where, "from"), f"{source!r} is final: no move can leave it")
                for target in targets:
                    if target == source:
                        raise self.fail((*where, "to"), f"a move from {source!r} to itself")
                    if target in moves.setdefault(source, []):
                        raise self.fail((*where, "to"), f"duplicate move {source} -> {target}")
                    moves[source].append(target)

        active = [k for k, s in stages.items() if not s.final]
        hold_label, hold_from = self.side(top.get("hold"), "hold", "暂缓", active, stages)
        term_label, term_from = self.side(
            top.get("terminate"), "terminate", "终止", [*active, ON_HOLD], stages, extra=(ON_HOLD,)
        )

        for key in active:
            if not moves.get(key):
                raise self.fail(
                    ("stages", keys_seen[key]), f"stage {key!r} is not final but no move leaves it"
                )
        reached = {self._first(stages)}
        frontier = list(reached)
        while frontier:
            for target in moves.get(frontier.pop(), []):
                if target not in reached:
                    reached.add(target)
                    frontier.append(target)
        for key in stages:
            if key not in reached:
                raise self.fail(
                    ("stages", keys_seen[key]),
                    f"stage {key!r} is unreachable from the first stage {self._first(stages)!r}",
                )
        if not any(s.final for s in stages.values()):
            raise self.fail(("stages",), "no stage is final (final: true)")

        ladder = self.ladder(top["ladder"], ("ladder",)) if top.get("ladder") is not None else ()
        return Workflow(
            name=name,
            label=self.text(top["label"], ("label",)),
            file=self.file,
            stages=stages,
            moves={k: tuple(v) for k, v in moves.items()},
            hold_label=hold_label,
            hold_from=hold_from,
            terminate_label=term_label,
            terminate_from=term_from,
            ladder=ladder,
        )

    @staticmethod
    def _first(stages: Mapping[str, Stage]) -> str:
        return next(iter(stages))

    def side(
        self,
        raw: Any,
        key: str,
        default_label: str,
        default_from: list[str],
        stages: Mapping[str, Stage],
        *,
        extra: tuple[str, ...] = (),
    ) -> tuple[str, tuple[str, ...]]:
        if raw is None:
            return default_label, tuple(default_from)
        raw = self.mapping(raw, (key,), ("label", "from"))
        label = self.text(raw["label"], (key, "label")) if "label" in raw else default_label
        if "from" not in raw:
            return label, tuple(default_from)
        sources = self.stage_list(raw["from"], (key, "from"), stages, extra=extra)
        for i, source in enumerate(sources):
            if source in stages and stages[source].final:
                raise self.fail((key, "from", i), f"{source!r} is final")
        return label, sources


def parse_workflow(text: str, file: str, *, expected_name: str | None = None) -> Workflow:
    """Parse and validate workflow YAML text; ``file`` names it in errors."""
    return _Checker(_compose(text, file), file).run(expected_name)


def load_workflow_file(path: Path) -> Workflow:
    """Load and validate one workflow file; its ``name`` must match the file name."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkflowError("no such file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowError(f"cannot read: {exc}", file=str(path)) from None
    return parse_workflow(text, str(path), expected_name=path.stem)


def shipped_dir(name: str) -> Path:
    """A folder shipped with followup (``workflows`` or ``notifications``).

    In a wheel they are packaged as ``followup/_shipped/<name>``; in a source checkout (editable
    install) they are the repository's top-level folders.
    """
    here = Path(__file__).resolve().parent
    packaged = here / "_shipped" / name
    if packaged.is_dir():
        return packaged
    return here.parents[1] / name


class WorkflowRegistry:
    """The workflows a county can use: the shipped ones and those in its own folder, loaded lazily."""

    def __init__(self, county_dir: Path | None = None) -> None:
        self.dirs = [shipped_dir("workflows")]
        if county_dir is not None:
            self.dirs.append(county_dir)
        self._cache: dict[str, Workflow] = {}

    def paths(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for folder in self.dirs:  # later folders (the county's) win
            if folder.is_dir():
                for path in sorted(folder.glob("*.yaml")):
                    found[path.stem] = path
        return found

    def names(self) -> list[str]:
        return sorted(self.paths())

    def get(self, name: str) -> Workflow:
        if name not in self._cache:
            path = None
            for folder in reversed(self.dirs):
                candidate = folder / f"{name}.yaml"
                if candidate.is_file():
                    path = candidate
                    break
            if path is None:
                raise UnknownWorkflow(
                    f"no workflow named {name!r}; known: {', '.join(self.names()) or 'none'}"
                )
            self._cache[name] = load_workflow_file(path)
        return self._cache[name]
