"""click in the user's language: its own messages, and our help texts translated when they are shown.

click marks its messages with the standard library's ``gettext.gettext`` (the process-wide default domain,
chosen by environment variables). :func:`patch_click` points those modules at followup's catalogue instead,
so that "Usage:", "Missing option" and the like follow FOLLOWUP_LANG like everything else.

Help texts (docstrings, ``help=``) are English msgids, written when the modules are imported; the classes
here translate them each time help is shown, so the language can be chosen per run (and per in-process
test), not per import.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
import click.core
import click.decorators
import click.exceptions
import click.formatting
import click.parser
import click.shell_completion
import click.termui
import click.types
import click.utils

from followup.cli.output import char_width, text_width, wrap
from followup.i18n import N_, _, ngettext

_CLICK_MODULES = (
    click.core,
    click.decorators,
    click.exceptions,
    click.formatting,
    click.parser,
    click.shell_completion,
    click.termui,
    click.types,
    click.utils,
)


class _TypeName:
    """A click type's ``name`` in the language in use: click says it in "'x' is not a valid integer."
    (followup's options that take numbers give a metavar of their own, so it shows nowhere else)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type | None = None) -> str:
        return _(self.name)


#: click's number types and what they are called in its messages
_TYPE_NAMES: dict[type, str] = {
    click.types.IntParamType: N_("integer"),
    click.types.IntRange: N_("integer range"),
    click.types.FloatParamType: N_("float"),
    click.types.FloatRange: N_("float range"),
    click.types.BoolParamType: N_("boolean"),
}


#: what click translates without marking it (``_(extra["required"])``), marked here for the catalogue
_CLICK_UNMARKED = (N_("required"),)


def term_len(x: str) -> int:
    """The terminal columns ``x`` takes (click counts characters: a Chinese one takes two)."""
    return text_width(click.unstyle(x))


def _join(lines: list[str]) -> str:
    """A paragraph's lines as one: a space between them, none between two Chinese characters."""
    out = ""
    for line in lines:
        line = line.strip()
        if out and line and not (char_width(out[-1]) == 2 and char_width(line[0]) == 2):
            out += " "
        out += line
    return out


def wrap_text(
    text: str,
    width: int = 78,
    initial_indent: str = "",
    subsequent_indent: str = "",
    preserve_paragraphs: bool = False,
) -> str:
    """click's ``wrap_text`` for text that mixes Chinese and Latin: widths in terminal columns, lines
    broken between Chinese characters or at spaces, never inside a word (see :func:`output.wrap`).
    Paragraphs (with ``preserve_paragraphs``) are separated by an empty line; one that starts with a
    line holding only ``\b`` is kept as written, as click does."""
    text = text.expandtabs()
    paragraphs: list[tuple[int, bool, list[str]]] = []
    chunks = text.split("\n\n") if preserve_paragraphs else [text]
    for chunk in chunks:
        lines = [line for line in chunk.splitlines() if line.strip()] if preserve_paragraphs else [chunk]
        if not lines:
            continue
        indent = len(lines[0]) - len(lines[0].lstrip()) if preserve_paragraphs else 0
        raw = lines[0].strip() == "\b"
        paragraphs.append((indent, raw, lines[1:] if raw else lines))
    first, rest = text_width(initial_indent), text_width(subsequent_indent)
    out = []
    for indent, raw, lines in paragraphs:
        pad = " " * indent
        if raw:
            out.append("\n".join(subsequent_indent + pad + line for line in lines))
            continue
        wrapped = wrap(_join(lines), max(width - max(first, rest) - indent, 10))
        indents = [initial_indent] + [subsequent_indent] * (len(wrapped) - 1)
        out.append("\n".join(lead + pad + line for lead, line in zip(indents, wrapped, strict=True)))
    return "\n\n".join(out)


def patch_click() -> None:
    """Make click's own messages speak followup's language, and its help wrap Chinese (idempotent)."""
    click.formatting.term_len = term_len  # type: ignore[attr-defined]
    click.formatting.wrap_text = wrap_text
    for module in _CLICK_MODULES:
        if hasattr(module, "_"):
            module._ = _  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext  # type: ignore[attr-defined]
    for kind, name in _TYPE_NAMES.items():
        setattr(kind, "name", _TypeName(name))  # noqa: B010 (a descriptor on the class)


@contextmanager
def _translated(*things: Any) -> Iterator[None]:
    """Show the ``help`` (and ``short_help``) of commands and options in the language in use."""
    saved = [(thing, getattr(thing, "help", None), getattr(thing, "short_help", None)) for thing in things]
    try:
        for thing, help_, short in saved:
            if help_:  # a command's docstring as written (indented): its msgid is the cleaned text
                thing.help = _(inspect.cleandoc(help_))
            if short:
                thing.short_help = _(inspect.cleandoc(short))
        yield
    finally:
        for thing, help_, short in saved:
            thing.help = help_
            if hasattr(thing, "short_help"):
                thing.short_help = short


class Command(click.Command):
    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _translated(self):
            super().format_help_text(ctx, formatter)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _translated(*self.get_params(ctx)):
            super().format_options(ctx, formatter)

    def get_short_help_str(self, limit: int = 45) -> str:
        with _translated(self):
            return super().get_short_help_str(limit)


class Group(Command, click.Group):
    """A group whose commands and subgroups translate their help too."""

    command_class = Command
    group_class: type[click.Group] | type[type] = type  # a subgroup is a Group like this one
