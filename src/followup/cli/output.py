"""What the CLI prints for people: times as ``2026-11-20 09:30``, amounts with thousands separators,
and tables aligned for a terminal (a Chinese character is two columns) and fitted to its width — cells
cut with … or wrapped, never in the middle of a character. ``--json`` output does not come here."""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import click

from followup.domain.kinds import label_of
from followup.domain.shown import amount_text
from followup.i18n import _, listed

__all__ = ["listed"]  # a list of names, as the language writes it (for the commands)

if TYPE_CHECKING:
    from decimal import Decimal

#: what a table or ``project show`` prints for nothing (no deadline, no leader)
NONE = "—"

_ESCAPED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def printable(text: str) -> str:
    """``text`` with every control, invisible or undecodable character escaped (``\\x1b``, ``\\u2028``):
    what reaches a terminal never moves its cursor, clears it or breaks a line. Names and labels are
    refused such characters on entry; this guards what was stored before, and file names in errors."""
    if text.isprintable():
        return text
    return "".join(ascii(c)[1:-1] if unicodedata.category(c) in _ESCAPED else c for c in text)


def when(value: datetime | date | None) -> str:
    """A time as a county reads it: ``2026-11-20 09:30`` (already in the configured zone), a day as
    ``2026-11-20``; nothing for None. ``--json`` keeps ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def money(value: Decimal | None) -> str:
    """An amount (万元) or an area (亩) with thousands separators: ``12,000``, ``12,000.50``."""
    return "" if value is None else amount_text(value)


def yes_no(flag: bool) -> str:
    """是 or 否 (yes or no)."""
    return _("yes") if flag else _("no")


def label(kind: type[StrEnum], key: str | None) -> str:
    """A stored key — an event kind, an outbox status, a notification kind, a role, a unit kind — as a
    person reads it: its member's ``label``; a key the enum does not know, as it is."""
    return "" if key is None else label_of(kind, key)


def char_width(char: str) -> int:
    """Columns a character takes on a terminal: two for a Chinese one, none for a combining mark."""
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def text_width(text: str) -> int:
    return sum(char_width(c) for c in text)


def terminal_width() -> int | None:
    """The columns a table may take: ``COLUMNS`` when set, else the terminal's; None (no limit) when
    the output is not a terminal (a file, a pipe: nothing is cut there)."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        import shutil  # only for a terminal: it imports the compression modules

        return shutil.get_terminal_size().columns
    return None


@dataclass(frozen=True)
class Column:
    """A table's column: its heading, ``align`` ``<`` (text) or ``>`` (numbers), what it does when the
    table is too wide — ``cut`` (truncated with …), ``wrap`` (onto more lines) or ``keep`` — how narrow
    it may get (``floor``: default its heading, at most 4 columns), and ``drop``: when even then the table
    is too wide, columns with a ``drop`` rank are left out, the lowest first (``project show`` has all)."""

    header: str
    align: str = "<"
    squeeze: str = "cut"
    floor: int = 4
    drop: int | None = None


def _head(text: str, width: int) -> tuple[str, str]:
    """The longest start of ``text`` that fits ``width`` columns, and the rest; a character (with its
    combining marks) is never split."""
    used = 0
    for i, char in enumerate(text):
        used += char_width(char)
        if used > width:
            return text[:i], text[i:]
    return text, ""


def _cut(text: str, width: int) -> list[str]:
    if text_width(text) <= width:
        return [text]
    return [_head(text, width - 1)[0].rstrip() + "…"]


#: what never begins a line (Chinese closing punctuation): the break goes before the character ahead of it
NO_LINE_START = frozenset("，。、；：！？）》」』】〕…,.;:!?)]}")
#: what never ends a line (opening brackets): the break goes before it
NO_LINE_END = frozenset("（《「『【〔([{")


def _may_break(text: str, i: int) -> bool:
    """Whether a line may end before ``text[i]``: at a space, or next to a Chinese character — never
    inside a Latin word or number, before closing punctuation, or before a combining mark."""
    before, after = text[i - 1], text[i]
    if after in NO_LINE_START or before in NO_LINE_END or unicodedata.combining(after):
        return False
    return " " in (before, after) or char_width(before) == 2 or char_width(after) == 2


def wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` terminal columns, broken where :func:`_may_break` allows
    (a word longer than the line is cut all the same)."""
    lines: list[str] = []
    while text_width(text) > width:
        head, _rest = _head(text, width)
        cut = next((i for i in range(len(head), 0, -1) if _may_break(text, i)), 0) or max(len(head), 1)
        lines.append(text[:cut].rstrip(" "))
        text = text[cut:].lstrip(" ")
    return [*lines, text]


#: how narrow a wrapped column gets before the others are cut
WRAP_COMFORT = 24


def _fit(columns: Sequence[Column], natural: list[int], limit: int | None) -> list[int | None]:
    """Column widths that fit ``limit`` (None: any): droppable columns are left out (None), lowest
    rank first, while even at their floors the columns would not fit; then the widest columns that may
    shrink are narrowed — a wrapped one (it loses nothing) down to a comfortable line, the cut ones down
    to their headings, the wrapped ones to their floors, the cut ones to theirs."""
    if limit is None:
        return list(natural)
    widths = list(natural)
    floor = [n if c.squeeze == "keep" else min(n, c.floor) for c, n in zip(columns, natural, strict=True)]
    heading = [max(f, min(n, text_width(c.header))) for c, n, f in zip(columns, natural, floor, strict=True)]
    shown = set(range(len(columns)))

    def total(of: list[int]) -> int:
        return sum(of[i] for i in shown) + 2 * (len(shown) - 1)

    ranks = sorted((c.drop, i) for i, c in enumerate(columns) if c.drop is not None)
    while ranks and total(floor) > limit:
        shown.discard(ranks.pop(0)[1])
    comfort = [max(f, min(n, WRAP_COMFORT)) for n, f in zip(natural, floor, strict=True)]
    excess = total(widths) - limit
    for squeeze, least in (("wrap", comfort), ("cut", heading), ("wrap", floor), ("cut", floor)):
        while excess > 0:
            shrinkable = [i for i in shown if columns[i].squeeze == squeeze and widths[i] > least[i]]
            if not shrinkable:
                break
            widest = max(shrinkable, key=widths.__getitem__)
            widths[widest] -= 1
            excess -= 1
    return [w if i in shown else None for i, w in enumerate(widths)]  # still too wide: the terminal wraps


def _line(cells: Sequence[str], columns: Sequence[Column], widths: Sequence[int | None]) -> str:
    out = []
    for cell, column, width in zip(cells, columns, widths, strict=True):
        if width is None:
            continue
        pad = " " * (width - text_width(cell))
        out.append(pad + cell if column.align == ">" else cell + pad)
    return "  ".join(out).rstrip()


def table(headers: Sequence[str | Column], rows: Sequence[Sequence[Any]]) -> None:
    """Columns aligned for a terminal (a Chinese character is two columns), fitted to its width
    (:func:`terminal_width`): the widest cells are cut with … or wrapped, as their column says."""
    columns = [h if isinstance(h, Column) else Column(h) for h in headers]
    cells = [[printable(str("" if v is None else v)) for v in row] for row in rows]
    natural = [max([text_width(c.header)] + [text_width(r[i]) for r in cells]) for i, c in enumerate(columns)]
    widths = _fit(columns, natural, terminal_width())
    heading = [_cut(c.header, w or 0)[0] for c, w in zip(columns, widths, strict=True)]
    click.echo(_line(heading, [Column(c.header) for c in columns], widths))
    for row in cells:
        parts = [
            [""] if w is None else wrap(cell, w) if c.squeeze == "wrap" else _cut(cell, w)
            for cell, c, w in zip(row, columns, widths, strict=True)
        ]
        for n in range(max(len(p) for p in parts)):
            click.echo(_line([p[n] if n < len(p) else "" for p in parts], columns, widths))
