"""Check a loaded workflow file and build the :class:`Workflow`, or raise the first error.

Every error names the file, the line, the key (``stages[2].limit``) and what is allowed. The checks
run top-down: the top-level keys, each stage, the moves, hold and terminate, then the graph as a
whole (every stage reachable, every non-final stage with a path to a final one, at least one final
stage). Labels follow the rules of names typed at the terminal (``domain.validate.text_problem``):
they end up in mail headers. Limits are bounded (:data:`LIMIT_BOUNDS`). ``hold:`` may carry its own
``ladder:`` (the hold-expiry ladder, 暂缓到期, counted from the expected restart date).

:func:`staleness_advice` says what a valid file had better change (``workflow check`` prints it as
warnings): staleness counted in calendar days.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from followup.domain.fields import DATE_FIELDS, PROJECT_FIELDS
from followup.domain.kinds import Role
from followup.domain.limits import UNITS, Limit
from followup.domain.validate import text_problem
from followup.domain.workflow import ON_HOLD, SIDE_STATES, Level, Stage, Workflow
from followup.errors import WorkflowError
from followup.i18n import _
from followup.lifecycle.yamlfile import Loaded, Path_, fmt

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
    "requires_evidence",
)
LEVEL_KEYS = ("level", "label", "at", "notify", "repeat")
ROLES = tuple(r for r in Role if r != Role.OPERATOR)  # whom a ladder may notify: not the operators

_KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
#: The largest amount a limit may hold in each unit, about ten years: a larger one is a typo, would
#: overflow a date (days: 99999999999) or spin counting working days (working_days: 5000000).
LIMIT_BOUNDS = {"working_days": 2500, "days": 3650, "months": 120}
MAX_LABEL = 100


@dataclass(frozen=True)
class Checker:
    """The file being checked: turns a path in it into an error with its line."""

    loaded: Loaded
    file: str

    def fail(self, path: Path_, message: str) -> WorkflowError:
        return WorkflowError(message, file=self.file, key=fmt(path), line=self.loaded.line_of(path))

    # ---- values

    def mapping(self, value: Any, path: Path_, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, _("expected a mapping with keys {keys}").format(keys=", ".join(allowed)))
        for key in value:
            if key not in allowed:
                raise self.fail(
                    (*path, key),
                    _("unknown key {key!r}; allowed: {allowed}").format(key=key, allowed=", ".join(allowed)),
                )
        return value

    def present(self, raw: Mapping[str, Any], path: Path_, *keys: str) -> None:
        for required in keys:
            if required not in raw:
                raise self.fail(path, _("missing {key!r}").format(key=required))

    def text(self, value: Any, path: Path_) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, _("expected a non-empty text"))
        if any(c in value for c in "\r\n"):
            raise self.fail(path, _("a label must be one line"))
        problem = text_problem(value)
        if problem:
            raise self.fail(path, _("a label {problem}: {value!r}").format(problem=problem, value=value[:60]))
        if len(value.strip()) > MAX_LABEL:
            raise self.fail(path, _("a label is at most {most} characters").format(most=MAX_LABEL))
        return value.strip()

    def key(self, value: Any, path: Path_) -> str:
        if not isinstance(value, str) or not _KEY_RE.fullmatch(value):
            raise self.fail(
                path,
                _("bad name {value!r}: use lower-case letters, digits and _ (e.g. land_prep)").format(
                    value=value
                ),
            )
        return value

    def limit(self, value: Any, path: Path_, *, signed: bool = False) -> Limit:
        allowed = ", ".join(UNITS)
        if not isinstance(value, dict) or len(value) != 1:
            raise self.fail(
                path,
                _("expected one of {allowed} with a whole number, e.g. {{days: 30}}").format(allowed=allowed),
            )
        ((unit, amount),) = value.items()
        if unit not in UNITS:
            raise self.fail(
                (*path, unit),
                _("unknown unit {unit!r}; allowed: {allowed}").format(unit=unit, allowed=allowed),
            )
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise self.fail(
                (*path, unit),
                _("expected a whole number of {unit}, got {amount!r}").format(unit=unit, amount=amount),
            )
        if not signed and amount <= 0:
            raise self.fail(
                (*path, unit),
                _("expected a positive number of {unit}, got {amount}").format(unit=unit, amount=amount),
            )
        bound = LIMIT_BOUNDS[unit]
        if abs(amount) > bound:
            raise self.fail(
                (*path, unit),
                _("at most {bound} {unit} (about ten years), got {amount}").format(
                    bound=bound, unit=unit, amount=amount
                ),
            )
        return Limit(unit, amount)

    def optional_limit(self, raw: Mapping[str, Any], name: str, path: Path_) -> Limit | None:
        return self.limit(raw[name], (*path, name)) if raw.get(name) is not None else None

    def stage_list(
        self, value: Any, path: Path_, stages: Mapping[str, Any], *, extra: tuple[str, ...] = ()
    ) -> tuple[str, ...]:
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if item not in stages and item not in extra:
                where = (*path, i) if isinstance(value, list) else path
                raise self.fail(
                    where,
                    _("unknown stage {stage!r}; stages: {stages}").format(
                        stage=item, stages=", ".join([*stages, *extra])
                    ),
                )
        return tuple(items)


# --------------------------------------------------------------------------- the ladder


def check_ladder(c: Checker, value: Any, path: Path_) -> tuple[Level, ...]:
    if not isinstance(value, list) or not value:
        raise c.fail(path, _("expected a list of levels (level, label, at, notify)"))
    levels: list[Level] = []
    for i, raw in enumerate(value):
        level = check_level(c, raw, (*path, i))
        if any(other.key == level.key for other in levels):
            raise c.fail((*path, i, "level"), _("duplicate level {level!r}").format(level=level.key))
        levels.append(level)
    return tuple(levels)


def check_level(c: Checker, raw: Any, where: Path_) -> Level:
    raw = c.mapping(raw, where, LEVEL_KEYS)
    c.present(raw, where, "level", "label", "at", "notify")
    key = c.key(raw["level"], (*where, "level"))
    at = c.limit(raw["at"], (*where, "at"), signed=True)
    notify = raw["notify"] if isinstance(raw["notify"], list) else [raw["notify"]]
    if not notify:
        raise c.fail((*where, "notify"), _("name at least one role: {roles}").format(roles=", ".join(ROLES)))
    for j, role in enumerate(notify):
        if role not in ROLES:
            raise c.fail(
                (*where, "notify", j),
                _("unknown role {role!r}; allowed: {roles}").format(role=role, roles=", ".join(ROLES)),
            )
    repeat = c.optional_limit(raw, "repeat", where)
    return Level(key, c.text(raw["label"], (*where, "label")), at, tuple(notify), repeat)


# --------------------------------------------------------------------------- stages


def check_stage_keys(c: Checker, raw_stages: Any) -> dict[str, int]:
    """Each stage's key, checked before anything refers to it: {key: its index}."""
    if not isinstance(raw_stages, list) or not raw_stages:
        raise c.fail(("stages",), _("expected a list of stages (key, label, limit, ...)"))
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_stages):
        raw = c.mapping(raw, ("stages", i), STAGE_KEYS)
        c.present(raw, ("stages", i), "key")
        key = c.key(raw["key"], ("stages", i, "key"))
        if key in SIDE_STATES:
            raise c.fail(
                ("stages", i, "key"),
                _("{key!r} is reserved for the side state; pick another name").format(key=key),
            )
        if key in seen:
            raise c.fail(
                ("stages", i, "key"),
                _("duplicate stage {key!r} (also stages[{index}])").format(key=key, index=seen[key]),
            )
        seen[key] = i
    return seen


def check_stage(c: Checker, raw: dict[str, Any], where: Path_, default_staleness: Limit | None) -> Stage:
    c.present(raw, where, "label")
    final, evidence = raw.get("final", False), raw.get("requires_evidence", False)
    for flag, value in (("final", final), ("requires_evidence", evidence)):
        if not isinstance(value, bool):
            raise c.fail((*where, flag), _("expected true or false"))
    limit = c.optional_limit(raw, "limit", where)
    if limit is None and not final:
        raise c.fail(where, _("a stage that is not final needs a limit, e.g. limit: {days: 90}"))
    requires = raw.get("requires") or []
    if not isinstance(requires, list):
        requires = [requires]
    for j, name in enumerate(requires):
        if name not in PROJECT_FIELDS:
            raise c.fail(
                (*where, "requires", j),
                _("unknown field {field!r}; allowed: {fields}").format(
                    field=name, fields=", ".join(PROJECT_FIELDS)
                ),
            )
    for opt in ("records", "contract_deadline"):
        if raw.get(opt) is not None and raw[opt] not in DATE_FIELDS:
            raise c.fail(
                (*where, opt),
                _("unknown date field {field!r}; allowed: {fields}").format(
                    field=raw[opt], fields=", ".join(DATE_FIELDS)
                ),
            )
    staleness = c.optional_limit(raw, "staleness", where) or default_staleness
    ladder = check_ladder(c, raw["ladder"], (*where, "ladder")) if raw.get("ladder") is not None else ()
    return Stage(
        key=raw["key"],
        label=c.text(raw["label"], (*where, "label")),
        limit=limit,
        staleness=staleness,
        requires=tuple(requires),
        records=raw.get("records"),
        contract_deadline=raw.get("contract_deadline"),
        final=final,
        ladder=ladder,
        requires_evidence=evidence,
    )


# --------------------------------------------------------------------------- moves and side states


def check_moves(c: Checker, raw_moves: Any, stages: Mapping[str, Stage]) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw_moves, list):
        raise c.fail(("moves",), _("expected a list of {from: STAGE, to: STAGE or [STAGES]}"))
    moves: dict[str, list[str]] = {}
    for i, raw in enumerate(raw_moves):
        where: Path_ = ("moves", i)
        raw = c.mapping(raw, where, ("from", "to"))
        c.present(raw, where, "from", "to")
        sources = c.stage_list(raw["from"], (*where, "from"), stages)
        targets = c.stage_list(raw["to"], (*where, "to"), stages)
        for source in sources:
            if stages[source].final:
                raise c.fail(
                    (*where, "from"), _("{stage!r} is final: no move can leave it").format(stage=source)
                )
            for target in targets:
                if target == source:
                    raise c.fail((*where, "to"), _("a move from {stage!r} to itself").format(stage=source))
                if target in moves.setdefault(source, []):
                    raise c.fail(
                        (*where, "to"),
                        _("duplicate move {source} -> {target}").format(source=source, target=target),
                    )
                moves[source].append(target)
    return {k: tuple(v) for k, v in moves.items()}


def check_side(
    c: Checker,
    raw: Any,
    key: str,
    default_label: str,
    default_from: list[str],
    stages: Mapping[str, Stage],
    *,
    extra: tuple[str, ...] = (),
) -> tuple[str, tuple[str, ...]]:
    """``hold:`` or ``terminate:`` → (label, the states it may be entered from)."""
    if raw is None:
        return default_label, tuple(default_from)
    raw = c.mapping(raw, (key,), ("label", "from", "ladder") if key == "hold" else ("label", "from"))
    label = c.text(raw["label"], (key, "label")) if "label" in raw else default_label
    if "from" not in raw:
        return label, tuple(default_from)
    sources = c.stage_list(raw["from"], (key, "from"), stages, extra=extra)
    for i, source in enumerate(sources):
        if source in stages and stages[source].final:
            raise c.fail((key, "from", i), _("{stage!r} is final").format(stage=source))
    return label, sources


def check_graph(
    c: Checker, stages: Mapping[str, Stage], moves: Mapping[str, tuple[str, ...]], index: Mapping[str, int]
) -> None:
    """Every non-final stage has a way out, every stage is reachable from the first, one is final."""
    for key, stage in stages.items():
        if not stage.final and not moves.get(key):
            raise c.fail(
                ("stages", index[key]),
                _("stage {stage!r} is not final but no move leaves it").format(stage=key),
            )
    first = next(iter(stages))
    reached = {first}
    frontier = [first]
    while frontier:
        for target in moves.get(frontier.pop(), ()):
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    for key in stages:
        if key not in reached:
            raise c.fail(
                ("stages", index[key]),
                _("stage {stage!r} is unreachable from the first stage {first!r}").format(
                    stage=key, first=first
                ),
            )
    if not any(s.final for s in stages.values()):
        raise c.fail(("stages",), _("no stage is final (final: true)"))
    check_no_trap(c, stages, moves, index)


def check_no_trap(
    c: Checker, stages: Mapping[str, Stage], moves: Mapping[str, tuple[str, ...]], index: Mapping[str, int]
) -> None:
    """Every non-final stage has a path to a final one: moves among stages that can never finish (a
    trap) would keep a project escalating for ever, with no move that helps."""
    sources: dict[str, list[str]] = {}
    for source, targets in moves.items():
        for target in targets:
            sources.setdefault(target, []).append(source)
    ending = {key for key, stage in stages.items() if stage.final}
    frontier = list(ending)
    while frontier:
        for source in sources.get(frontier.pop(), ()):
            if source not in ending:
                ending.add(source)
                frontier.append(source)
    for key in stages:
        if key not in ending:
            raise c.fail(
                ("stages", index[key]),
                _(
                    "stage {stage!r} has no path to a final stage: its moves only lead among stages "
                    "that never finish"
                ).format(stage=key),
            )


# --------------------------------------------------------------------------- the file


def check_workflow(loaded: Loaded, file: str, expected_name: str | None) -> Workflow:
    """The checked workflow of a loaded file, or the first WorkflowError."""
    c = Checker(loaded, file)
    if loaded.data is None:
        raise c.fail((), _("the file is empty; expected a mapping with name, stages, moves"))
    top = c.mapping(loaded.data, (), TOP_KEYS)
    c.present(top, (), "name", "label", "stages", "moves")
    name = c.key(top["name"], ("name",))
    if expected_name and name != expected_name:
        raise c.fail(
            ("name",),
            _("name {name!r} must match the file name {file!r}").format(name=name, file=expected_name),
        )
    default_staleness = c.optional_limit(top, "staleness", ())
    index = check_stage_keys(c, top["stages"])
    stages = {
        raw["key"]: check_stage(c, raw, ("stages", i), default_staleness)
        for i, raw in enumerate(top["stages"])
    }
    moves = check_moves(c, top["moves"], stages)
    active = [k for k, s in stages.items() if not s.final]
    hold_label, hold_from = check_side(c, top.get("hold"), "hold", "暂缓", active, stages)
    term_label, term_from = check_side(
        c, top.get("terminate"), "terminate", "终止", [*active, ON_HOLD], stages, extra=(ON_HOLD,)
    )
    check_graph(c, stages, moves, index)
    ladder = check_ladder(c, top["ladder"], ("ladder",)) if top.get("ladder") is not None else ()
    raw_hold = top.get("hold")
    hold_ladder = (
        check_ladder(c, raw_hold["ladder"], ("hold", "ladder"))
        if isinstance(raw_hold, dict) and raw_hold.get("ladder") is not None
        else ()
    )
    return Workflow(
        name=name,
        label=c.text(top["label"], ("label",)),
        file=file,
        stages=stages,
        moves=moves,
        hold_label=hold_label,
        hold_from=hold_from,
        terminate_label=term_label,
        terminate_from=term_from,
        ladder=ladder,
        hold_ladder=hold_ladder,
    )


# --------------------------------------------------------------------------- advice


def staleness_advice(workflow: Workflow) -> list[str]:
    """What a valid workflow had better say otherwise, one line each (``workflow check`` prints them as
    warnings, exit 0): a staleness limit in calendar days or months counts holidays, so the first working
    day after 春节 or 国庆 turns healthy projects stale in a burst; working days do not."""
    out: list[str] = []
    for stage in workflow.stages.values():
        limit = stage.staleness
        if stage.final or limit is None or limit.unit == "working_days":
            continue
        days = limit.amount if limit.unit == "days" else limit.amount * 30
        suggested = max(1, round(days * 5 / 7))
        out.append(
            _(
                "stage {key} ({label}): staleness {{{unit}: {amount}}} counts calendar days, holidays "
                "included: after 春节 or 国庆 projects followed up just before the holiday turn stale at "
                "once; "
                "count working days instead, e.g. staleness: {{working_days: {suggested}}}"
            ).format(
                key=stage.key, label=stage.label, unit=limit.unit, amount=limit.amount, suggested=suggested
            )
        )
    return out
