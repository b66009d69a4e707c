"""The county's own words for what followup stores: amounts in 万 and 亿, a stage by its label, a field
by its label or a short alias, and a person or a unit by name. Pure: the callers hand in what there is
to choose from (a workflow, the officials) and get a key back, or one line that says why not — an
ambiguous word lists its candidates with their keys, an unknown one the closest matches.

Dates and times in the county's forms (``2026年11月20日``) are read by :mod:`followup.domain.timeutil`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from followup.domain import validate
from followup.domain.fields import PROJECT_FIELDS
from followup.domain.workflow import ON_HOLD, TERMINATED, Workflow
from followup.errors import InvalidInput, NotFound
from followup.i18n import _, listed, named


def folded(text: str) -> str:
    """``text`` as words are compared: full-width forms made plain (（万元） → (万元)), no case, no
    surrounding or inner spaces."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


# --------------------------------------------------------------------------- amounts and areas

#: a plain number, its thousands grouped by commas or not: 5000, 5,000, 1.2, 12,000.5
_NUMBER_RE = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")
#: how much a suffix multiplies a number to make 万元
_AMOUNT_UNITS = {"": 1, "万": 1, "万元": 1, "亿": 10000, "亿元": 10000}


def amount(text: str, what: str | None = None) -> Decimal:
    """An amount of money in 万元 as typed: ``5000``, ``5,000``, ``5000万``, ``5000万元``, ``1.2亿``
    (1亿 = 10000万); at most two decimals of 万元 once converted. A bare 元 is refused: a county
    writing 5000元 means half a 万, and a silent factor of 10000 is the worst mistake to make."""
    what = validate.term(what) if what else _("amount")
    raw = folded(text)
    number = raw.rstrip("万亿元")
    suffix = raw[len(number) :]
    if suffix == "元":
        raise InvalidInput(
            _("bad {what} {value}: amounts are in 万元 (write 0.5万 for 5000元)").format(
                what=what, value=validate.shown(text)
            )
        )
    if suffix not in _AMOUNT_UNITS or not _NUMBER_RE.fullmatch(number):
        raise InvalidInput(
            _("bad {what} {value}: expected 万元 such as 5000, 5,000, 5000万, 5000万元 or 1.2亿").format(
                what=what, value=validate.shown(text)
            )
        )
    value = Decimal(number.replace(",", "")) * _AMOUNT_UNITS[suffix]
    return validate.decimal(str(value), what, shown_as=text)


def area(text: str, what: str | None = None) -> Decimal:
    """An area in 亩 as typed: ``80``, ``1,200``, ``80亩``, ``80.5``."""
    what = validate.term(what) if what else _("land")
    raw = folded(text).removesuffix("亩")
    if not _NUMBER_RE.fullmatch(raw):
        raise InvalidInput(
            _("bad {what} {value}: expected 亩 such as 80, 1,200 or 80亩").format(
                what=what, value=validate.shown(text)
            )
        )
    return validate.decimal(raw.replace(",", ""), what, shown_as=text)


# --------------------------------------------------------------------------- stages

#: side states' other names, whatever a workflow calls them (终止/退出 in the county's practice)
SIDE_WORDS = {"暂缓": ON_HOLD, "终止": TERMINATED, "退出": TERMINATED}


def state_words(workflow: Workflow) -> dict[str, set[str]]:
    """Every word that names a state of ``workflow`` (folded) → the states it names: the key, the
    label, each part of a label such as 落地/供地, and the side states' usual names."""
    words: dict[str, set[str]] = {}
    for state in workflow.states():
        label = workflow.label_of(state)
        for word in {state, label, *re.split(r"[/、]", unicodedata.normalize("NFKC", label))}:
            if word.strip():
                words.setdefault(folded(word), set()).add(state)
    for word, state in SIDE_WORDS.items():
        words.setdefault(folded(word), {state})
    return words


def stage_list(workflow: Workflow) -> str:
    """``lead (线索), talks (洽谈), …, terminated (终止)``: what a stage may be called."""
    return listed(named(s, workflow.label_of(s)) for s in workflow.states())


def stage_key(workflow: Workflow, word: str) -> str:
    """The state of ``workflow`` that ``word`` names (its key or its label), or why none."""
    if word in workflow.states():
        return word
    found = state_words(workflow).get(folded(word), set())
    if len(found) == 1:
        return next(iter(found))
    if found:
        names = listed(named(s, workflow.label_of(s)) for s in sorted(found))
        raise InvalidInput(
            _("stage {word} is ambiguous in workflow {workflow}: {names}").format(
                word=validate.shown(word), workflow=workflow.name, names=names
            )
        )
    close = closest(word, [(s, workflow.label_of(s)) for s in workflow.states()])
    message = (
        _("unknown stage {word} in workflow {workflow}; did you mean {close}? stages: {stages}")
        if close
        else _("unknown stage {word} in workflow {workflow}; stages: {stages}")
    )
    raise InvalidInput(
        message.format(
            word=validate.shown(word), workflow=workflow.name, close=close, stages=stage_list(workflow)
        )
    )


def stage_keys(workflows: Iterable[Workflow], word: str) -> set[str]:
    """Every state that ``word`` names in any of ``workflows`` (a filter across lifecycles); empty
    when none does."""
    found: set[str] = set()
    for workflow in workflows:
        if word in workflow.states():
            found.add(word)
        found |= state_words(workflow).get(folded(word), set())
    return found


# --------------------------------------------------------------------------- ledger fields


def _field_words() -> dict[str, str]:
    """Every word that names a ledger field (folded) → its key: the key (also with - for _), the
    label, the label without its unit, the aliases."""
    words: dict[str, str] = {}
    for name, spec in PROJECT_FIELDS.items():
        for word in (name, name.replace("_", "-"), spec.label, spec.short, *spec.aliases):
            words[folded(word)] = name
    return words


_FIELD_WORDS = _field_words()


def field_names() -> str:
    """``investor (投资方), amount (合同金额, 金额), …``: what a field may be called."""
    return listed(
        named(name, _(", ").join((spec.short, *spec.aliases[:1]))) for name, spec in PROJECT_FIELDS.items()
    )


def field_key(word: str) -> str:
    """The ledger field ``word`` names: its key, its label (with or without its unit) or an alias."""
    found = _FIELD_WORDS.get(folded(word))
    if found is None:
        close = closest(word, [(n, s.label) for n, s in PROJECT_FIELDS.items()])
        message = (
            _("unknown field {word}; did you mean {close}? fields: {fields}")
            if close
            else _("unknown field {word}; fields: {fields}")
        )
        raise InvalidInput(message.format(word=validate.shown(word), close=close, fields=field_names()))
    return found


# --------------------------------------------------------------------------- people and units by name


@dataclass(frozen=True)
class Candidate:
    """Someone or something a word may name: its key, its name, and what tells two namesakes apart
    (an official's unit, "left office")."""

    key: str
    name: str
    detail: str = ""
    #: what else the county calls them in a ledger: 马县长, 张常委 (an official's titles)
    aliases: tuple[str, ...] = ()

    def shown(self) -> str:
        return named(self.key, self.name, self.detail)


def suggestions(word: str, choices: Sequence[tuple[str, str]], limit: int = 3) -> str:
    """``; did you mean lina (李娜)?`` for the keys and names closest to ``word``; "" when none is.
    (A message of one's own is better said whole, with :func:`closest`.)"""
    close = closest(word, choices, limit)
    return _("; did you mean {close}?").format(close=close) if close else ""


def closest(word: str, choices: Sequence[tuple[str, str]], limit: int = 3) -> str:
    """``lina (李娜) or lina2 (李娜)``: the keys and names closest to ``word``; "" when none is."""
    import difflib  # only when a word was not found

    wanted = folded(word)
    scored = []
    for key, name in choices:
        full = folded(name)
        score = max(
            difflib.SequenceMatcher(None, wanted, folded(key)).ratio(),
            difflib.SequenceMatcher(None, wanted, full).ratio(),
            # a unit is often typed by the start of its name: 城关乡 for 城关镇(人民政府)
            difflib.SequenceMatcher(None, wanted, full[: len(wanted)]).ratio() - 0.1,
            0.7 if wanted and (wanted in full or full in wanted) else 0.0,
        )
        if score >= 0.5:
            scored.append((-score, key, name))
    close = [named(key, name) for _score, key, name in sorted(scored)[:limit]]
    return _(" or ").join(close)


def then(close: str) -> str:
    """What joins :func:`suggestions` (maybe none) to the rest of a message."""
    return f"{close} " if close else _("; ")


def pick(
    word: str,
    candidates: Sequence[Candidate],
    what: str,
    *,
    unknown: type[NotFound],
    listing: str,
    partial: bool = False,
) -> Candidate:
    """The one candidate ``word`` names: by key, else by name (folded), else by an alias (马县长);
    with ``partial``, else the one whose name contains it (城关镇 for 城关镇人民政府). Several →
    refused with each candidate and its key; none → ``unknown`` with the closest matches and where
    to look (``listing``)."""
    by_key = [c for c in candidates if c.key == word]
    if by_key:
        return by_key[0]
    wanted = folded(word)
    found = [c for c in candidates if folded(c.name) == wanted]
    if not found:
        found = [c for c in candidates if any(folded(a) == wanted for a in c.aliases)]
    if not found and partial and len(wanted) >= 2:
        found = [c for c in candidates if wanted in folded(c.name)]
    if len(found) == 1:
        return found[0]
    what = validate.term(what)
    if found:
        names = listed(c.shown() for c in found)
        raise InvalidInput(
            _("{what} {word} is ambiguous: {names}; give the key").format(
                what=what, word=validate.shown(word), names=names
            )
        )
    close = closest(word, [(c.key, c.name) for c in candidates])
    message = (
        _("unknown {what} {word}; did you mean {close}? see `{listing}`")
        if close
        else _("unknown {what} {word}; see `{listing}`")
    )
    raise unknown(message.format(what=what, word=validate.shown(word), close=close, listing=listing))
