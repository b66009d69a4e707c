"""What a county user reads, in their language: Simplified Chinese by default, English with FOLLOWUP_LANG=en.

Every user-facing string goes through :func:`_` (or :func:`ngettext`) with named placeholders filled after
translation, so that a translator can move them::

    raise UnknownUnit(_("unknown unit {key}").format(key=repr(key)))

A string defined before the language is known (a click help text, a table heading in a constant) is marked
with :func:`N_` and translated where it is shown. The catalogue is ``followup/locale/<lang>/LC_MESSAGES/
followup.po``, compiled to ``followup.mo`` by ``scripts/i18n`` (Babel, a development tool); at run time only
the standard library's gettext reads the ``.mo``. The source strings are English: ``en`` needs no catalogue.
Logs stay English (they are for the operator's tools, not for officials).
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Iterable
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "followup"
DEFAULT = "zh_CN"
#: The languages followup speaks, and what FOLLOWUP_LANG may say to choose one.
LANGUAGES = {"zh_CN": "zh_CN", "zh": "zh_CN", "zh_Hans": "zh_CN", "en": "en", "en_US": "en", "C": "en"}

_active: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def resolve(requested: str | None) -> str:
    """The language for ``requested`` (FOLLOWUP_LANG; None or empty: the default). Unknown ones fall back
    to the default rather than fail: an error message needs a language to be said in."""
    if not requested:
        return DEFAULT
    code = requested.split(".", 1)[0].replace("-", "_")
    return LANGUAGES.get(code, DEFAULT)


def use(requested: str | None = None) -> str:
    """Speak ``requested`` (default: FOLLOWUP_LANG, else Simplified Chinese) from now on; returns it."""
    global _active, _language
    language = resolve(requested if requested is not None else os.environ.get("FOLLOWUP_LANG"))
    if language == "en":
        _active = gettext.NullTranslations()
    else:
        _active = gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)
    _language = language
    return language


def current() -> str:
    """The language in use (``zh_CN`` or ``en``)."""
    return _language


def _(message: str) -> str:
    """``message`` in the language in use."""
    return _active.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return _active.ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue; it is translated where it is shown (with :func:`_`)."""
    return message


def listed(items: Iterable[str]) -> str:
    """Names in a row as the language writes them: 线索、洽谈 (lead, talks)."""
    # the separator between the items of a list of names: 、 in Chinese
    return _(", ").join(items)


def named(key: str, name: str, detail: str = "") -> str:
    """``lina (李娜)``, ``wangjun (王军, 城关镇人民政府)``: a key with what it names, as the language
    writes it (``lina（李娜）``)."""
    if detail:
        return _("{key} ({name}, {detail})").format(key=key, name=name, detail=detail)
    return _("{key} ({name})").format(key=key, name=name)
