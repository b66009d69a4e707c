"""Keep the translation catalogue whole: extract every user-facing message, merge it into each language's
``.po``, compile the ``.mo`` that followup reads at run time.

    .venv/bin/python scripts/i18n.py           # extract, update each language's .po, compile its .mo
    .venv/bin/python scripts/i18n.py --check   # exit 1 when a message lacks a translation or a .mo is stale

The catalogues are src/followup/locale/<language>/LC_MESSAGES/followup.po (and .mo).

The messages are: every ``_("…")``, ``N_("…")`` and ``ngettext("…", "…", n)`` in src/followup (Babel's
extractor), every help text of the CLI (commands' docstrings and options' ``help``, read from the command
tree), and click's own messages (extracted from the installed click). A translator edits the ``.po``
(msgstr); this script never overwrites a translation. Babel is a development tool: followup itself reads
the ``.mo`` with the standard library.
"""

from __future__ import annotations

import argparse
import inspect
import io
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

import followup
from followup.i18n import DOMAIN, LOCALE_DIR

KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
CREATED = datetime(2026, 11, 27, tzinfo=UTC)  # fixed: a run that changes no message changes no file
LANGUAGES = ("zh_CN",)


def source_messages() -> Iterator[tuple[str | tuple[str, str], str]]:
    """(msgid or (singular, plural), where) for every marked string of followup and of click."""
    roots = [(Path(followup.__file__).parent, "followup"), (Path(click.__file__).parent, "click")]
    for root, name in roots:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            root, method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=()
        ):
            yield message, f"{name}/{filename}:{lineno}"


def cli_messages() -> Iterator[tuple[str, str]]:
    """(help text, where) for every command, group and option of ``followup``."""
    from followup.cli.root import cli

    commands = cli.load_all()

    def walk(command: click.Command, path: str) -> Iterator[tuple[str, str]]:
        if command.help:
            yield inspect.cleandoc(command.help), f"cli/{path}"
        if command.short_help:
            yield command.short_help, f"cli/{path}"
        for param in command.params:
            text = getattr(param, "help", None)
            if text:
                yield text, f"cli/{path}/{param.opts[0] if param.opts else param.name}"
        if isinstance(command, click.Group):
            for name, sub in sorted(command.commands.items()):
                yield from walk(sub, f"{path}/{name}")

    yield from walk(cli, "followup")
    assert commands


def error_messages() -> Iterator[tuple[str, str]]:
    """(default message, where) for every error class: its docstring (``errors.default_message``)."""
    from followup import errors

    for name, value in sorted(vars(errors).items()):
        if isinstance(value, type) and issubclass(value, errors.FollowupError) and value.__doc__:
            yield value.__doc__.strip(), f"followup/errors.py:{name}"


def template() -> Catalog:
    """Every message, as a Babel catalogue (the ``.pot``)."""
    catalog = new_catalog(None)
    for message, where in [*source_messages(), *cli_messages(), *error_messages()]:
        file, _sep, line = where.rpartition(":")
        catalog.add(message, locations=[(file, int(line)) if line.isdigit() else (where, 0)])
    return catalog


def new_catalog(language: str | None) -> Catalog:
    return Catalog(
        locale=language,
        project="followup",
        version=followup.__version__,
        copyright_holder="followup's authors",
        msgid_bugs_address="",
        creation_date=CREATED,
        revision_date=CREATED,
        last_translator="followup's authors",
        language_team=language,
        domain=DOMAIN,
        charset="utf-8",
        fuzzy=False,
    )


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(language: str) -> Catalog:
    path = po_path(language)
    if not path.exists():
        return new_catalog(language)
    with path.open("rb") as f:
        return read_po(f, locale=language, domain=DOMAIN)


def mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def missing(catalog: Catalog, pot: Catalog) -> list[str]:
    """The messages of ``pot`` that ``catalog`` does not translate."""
    out = []
    for message in pot:
        if not message.id:
            continue
        found = catalog.get(message.id)
        strings = found.string if found is not None else None
        done = all(strings) if isinstance(strings, tuple) else bool(strings)
        if found is None or not done or found.fuzzy:
            out.append(message.id if isinstance(message.id, str) else message.id[0])
    return out


def update() -> int:
    pot = template()
    for language in LANGUAGES:
        catalog = read(language)
        catalog.update(pot, no_fuzzy_matching=True)
        path = po_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            write_po(f, catalog, width=100, sort_output=True, omit_header=False, ignore_obsolete=True)
        path.with_suffix(".mo").write_bytes(mo_bytes(read(language)))
        gaps = missing(read(language), pot)
        print(f"{language}: {len(pot)} messages, {len(gaps)} without a translation ({path})")
    return 0


def check() -> int:
    pot = template()
    failed = 0
    for language in LANGUAGES:
        catalog = read(language)
        gaps = missing(catalog, pot)
        for gap in gaps:
            print(f"{language}: no translation for {gap!r}")
        mo = po_path(language).with_suffix(".mo")
        stale = not mo.exists() or mo.read_bytes() != mo_bytes(catalog)
        if stale:
            print(f"{language}: {mo} is not the compiled .po: run scripts/i18n.py")
        failed += len(gaps) + stale
    return 1 if failed else 0


def merge(fragments: list[Path], language: str = "zh_CN") -> int:
    """Take the translations of ``fragments`` (PO files, e.g. from several translators) into the
    language's catalogue, for the messages it has; then compile it."""
    catalog = read(language)
    taken = 0
    for fragment in fragments:
        with fragment.open("rb") as f:
            for message in read_po(f, locale=language, domain=DOMAIN):
                target = catalog.get(message.id) if message.id else None
                if target is not None and message.string and not message.fuzzy:
                    target.string = message.string
                    taken += 1
    path = po_path(language)
    with path.open("wb") as f:
        write_po(f, catalog, width=100, sort_output=True, omit_header=False, ignore_obsolete=True)
    path.with_suffix(".mo").write_bytes(mo_bytes(read(language)))
    print(f"{language}: {taken} translations taken from {len(fragments)} files")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="report what is missing; change nothing")
    parser.add_argument("--merge", nargs="+", type=Path, metavar="PO", help="take translations from these")
    args = parser.parse_args(argv)
    if args.merge:
        update()
        return merge(args.merge)
    return check() if args.check else update()


if __name__ == "__main__":
    sys.exit(main())
