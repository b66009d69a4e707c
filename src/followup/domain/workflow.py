"""A lifecycle as data: stages, the moves between them, hold and terminate, and the warning ladder.

A :class:`Workflow` is built from a YAML file by ``followup.lifecycle`` (which checks the file); here it
is a frozen value with the questions the rest of followup asks of it.

The moves are encoded once, in one ``transitions.Machine`` per workflow, shared by every project: a
project is attached to it only for one check (``add_model``/``remove_model``), never one Machine per
row. Each edge of the graph is its own trigger (``"talks->signing"``), so the machine answers both
"which moves leave this state" (in the file's order) and "may this project take that one". The
conditions of an edge are :class:`Condition` objects: a *structural* one decides whether the move is
offered at all (a project on hold resumes only to the stage it was held in); the others are guards
that refuse an offered move and say why (a required field is missing, a hold needs a reason).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any, ClassVar

from transitions import Machine

from followup.domain.fields import PROJECT_FIELDS
from followup.domain.limits import Limit
from followup.errors import GuardFailed, InvalidInput, MoveRefused
from followup.i18n import _, listed, named

ON_HOLD = "on_hold"
TERMINATED = "terminated"
SIDE_STATES = (ON_HOLD, TERMINATED)


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
    #: entering it needs at least one attachment (以图为证): a photo of the site, a signed agreement
    requires_evidence: bool = False

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
            "requires_evidence": self.requires_evidence,
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


# --------------------------------------------------------------------------- conditions of a move


class Condition:
    """A condition on an edge of the machine. ``problem`` says why it fails (None: it holds)."""

    #: structural conditions decide whether a move is offered at all; the others refuse it with a reason
    structural: ClassVar[bool] = False

    def problem(self, subject: MoveSubject, dest: str) -> MoveRefused | None:
        raise NotImplementedError

    def __call__(self, event: Any) -> bool:  # how transitions calls a condition (send_event=True)
        return self.problem(event.model, event.transition.dest) is None


@dataclass(frozen=True)
class Requires(Condition):
    """The fields a stage requires must be recorded before it is entered."""

    stage: Stage

    def problem(self, subject: MoveSubject, dest: str) -> MoveRefused | None:
        missing = [f for f in self.stage.requires if subject.values.get(f) in (None, "")]
        if not missing:
            return None
        names = listed(named(PROJECT_FIELDS[f].label, f) for f in missing)
        sets = " ".join(f"--set {PROJECT_FIELDS[f].short}=VALUE" for f in missing)
        return GuardFailed(
            _(
                "cannot enter {label} ({key}): missing {names}; record with {sets} or `followup project edit`"
            ).format(label=self.stage.label, key=self.stage.key, names=names, sets=sets)
        )


class HoldNeedsReasonAndDate(Condition):
    def problem(self, subject: MoveSubject, dest: str) -> MoveRefused | None:
        if subject.reason and subject.until is not None:
            return None
        return GuardFailed(
            _("putting a project on hold needs a reason (--note) and an expected restart date (--until)")
        )


class ResumesToHeldStage(Condition):
    structural = True

    def problem(self, subject: MoveSubject, dest: str) -> MoveRefused | None:
        if dest == subject.held_stage:
            return None
        return MoveRefused(
            _("a project on hold resumes to the stage it was held in ({stage})").format(
                stage=subject.held_stage
            )
        )


class TerminateNeedsReason(Condition):
    def problem(self, subject: MoveSubject, dest: str) -> MoveRefused | None:
        return None if subject.reason else GuardFailed(_("terminating a project needs a reason (--note)"))


def edge(source: str, dest: str) -> str:
    """The machine's trigger for the move from ``source`` to ``dest``."""
    return f"{source}->{dest}"


# --------------------------------------------------------------------------- the workflow


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
    #: the hold-expiry ladder (暂缓到期), counted from a held project's expected restart date; empty:
    #: the workflow's own ladder
    hold_ladder: tuple[Level, ...] = field(default=())

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
            raise self._unknown(key) from None

    def check_state(self, key: str) -> str:
        if key not in self.states():
            raise self._unknown(key)
        return key

    def _unknown(self, key: str) -> InvalidInput:
        return InvalidInput(
            _("unknown stage {key!r} in workflow {workflow}; stages: {stages}").format(
                key=key, workflow=self.name, stages=", ".join(self.states())
            )
        )

    def placement_problem(self, state: str, held_stage: str | None = None) -> str | None:
        """Why a project in ``state`` (held in ``held_stage``) has no place in this workflow — a stage
        renamed or removed while projects were in it — or None when it has."""
        if state not in self.states():
            return _("workflow {workflow} has no stage {stage!r} (renamed or removed?)").format(
                workflow=self.name, stage=state
            )
        if state == ON_HOLD and held_stage is not None and held_stage not in self.stages:
            return _("workflow {workflow} has no stage {stage!r}, the stage it was held in").format(
                workflow=self.name, stage=held_stage
            )
        return None

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
        """The ladder of a stage (its own, else the workflow's); on hold, the hold-expiry ladder."""
        if key == ON_HOLD:
            return self.hold_ladder or self.ladder
        stage = self.stages.get(key)
        return stage.ladder if stage and stage.ladder else self.ladder

    def level_keys(self) -> set[str]:
        """Every level of the stage ladders (the workflow's and its stages' own); the hold-expiry
        ladder's levels are mailed with the hold templates, whatever their key."""
        return {level.key for level in self.ladder} | {
            level.key for stage in self.stages.values() for level in stage.ladder
        }

    # ---- the moves: one machine, shared

    def edges(self) -> Iterator[tuple[str, str, tuple[Condition, ...]]]:
        """Every move as (source, dest, conditions): the file's moves in order, then hold, resume and
        terminate."""
        for source, targets in self.moves.items():
            for target in targets:
                yield source, target, (Requires(self.stages[target]),)
        for source in self.hold_from:
            yield source, ON_HOLD, (HoldNeedsReasonAndDate(),)
        for stage in self.hold_from:
            yield ON_HOLD, stage, (ResumesToHeldStage(),)
        for source in self.terminate_from:
            yield source, TERMINATED, (TerminateNeedsReason(),)

    @cached_property
    def machine(self) -> Machine:
        return Machine(
            model=None,
            states=self.states(),
            transitions=[
                {"trigger": edge(s, d), "source": s, "dest": d, "conditions": list(c)}
                for s, d, c in self.edges()
            ],
            initial=None,
            auto_transitions=False,
            send_event=True,
        )

    def _conditions(self, source: str, dest: str) -> list[Condition]:
        (transition,) = self.machine.events[edge(source, dest)].transitions[source]
        return [c.func for c in transition.conditions if isinstance(c.func, Condition)]

    def allowed_from(self, state: str, held_stage: str | None = None) -> list[str]:
        """Every state a project in ``state`` may move to, as the machine offers them."""
        subject = MoveSubject(state=state, values={}, held_stage=held_stage)
        return [dest for dest in self._dests(state) if self._offered(subject, dest)]

    def _dests(self, state: str) -> list[str]:
        triggers = self.machine.get_triggers(state) if state in self.states() else []
        return [t.split("->", 1)[1] for t in triggers]

    def _offered(self, subject: MoveSubject, dest: str) -> bool:
        return all(
            c.problem(subject, dest) is None for c in self._conditions(subject.state, dest) if c.structural
        )

    def check_move(self, subject: MoveSubject, target: str) -> None:
        """Raise MoveRefused/GuardFailed unless ``subject`` may move to ``target``; else return."""
        self.check_state(target)
        source = subject.state
        if target == source:
            raise MoveRefused(
                _("the project is already in {label} ({key})").format(label=self.label_of(source), key=source)
            )
        allowed = self.allowed_from(source, subject.held_stage)
        if target not in allowed:
            names = listed(named(s, self.label_of(s)) for s in allowed)
            message = (
                _("cannot move from {source_label} ({source}) to {target_label} ({target}); allowed: {names}")
                if names
                else _(
                    "cannot move from {source_label} ({source}) to {target_label} ({target}); allowed: none"
                )
            )
            raise MoveRefused(
                message.format(
                    source_label=self.label_of(source),
                    source=source,
                    target_label=self.label_of(target),
                    target=target,
                    names=names,
                )
            )
        machine = self.machine
        machine.add_model(subject, initial=source)
        try:
            moved = subject.trigger(edge(source, target))  # type: ignore[attr-defined]
        finally:
            machine.remove_model(subject)
        if not moved:  # a guard refused: the first one that does says why
            problems = (c.problem(subject, target) for c in self._conditions(source, target))
            raise next(p for p in problems if p is not None)

    # ---- output

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "file": self.file,
            "stages": [s.to_dict() for s in self.stages.values()],
            "moves": [{"from": s, "to": list(t)} for s, t in self.moves.items()],
            "hold": {
                "label": self.hold_label,
                "from": list(self.hold_from),
                "ladder": [level.to_dict() for level in self.ladder_for(ON_HOLD)],
            },
            "terminate": {"label": self.terminate_label, "from": list(self.terminate_from)},
            "ladder": [level.to_dict() for level in self.ladder],
        }

    def mermaid(self) -> str:
        """A mermaid ``stateDiagram-v2`` drawn by transitions' own mermaid engine."""
        from transitions.extensions.diagrams import GraphMachine  # only for --mermaid

        class _Diagram:
            pass

        transitions = [
            {"trigger": d, "source": s, "dest": d, "label": "恢复" if s == ON_HOLD else self.label_of(d)}
            for s, d, _conditions in self.edges()
        ]
        model = _Diagram()
        title = f"{self.label} ({self.name})"
        GraphMachine(
            model=model,
            states=self.states(),
            transitions=transitions,
            initial=self.first,
            auto_transitions=False,
            graph_engine="mermaid",
            show_state_attributes=False,
            title=title,
        )
        text: str = model.get_graph().draw(None)  # type: ignore[attr-defined]
        # mermaid reads front matter as YAML: the title must be a `title:` key to be shown
        text = text.replace(f"---\n{title}\n---", f"---\ntitle: {title}\n---", 1)
        for state in self.states():
            # transitions names a state by its key; show the Chinese label too
            text = text.replace(
                f'state "{state}" as {state}', f'state "{self.label_of(state)} {state}" as {state}'
            )
        return text
