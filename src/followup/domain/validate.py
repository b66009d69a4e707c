"""Checks on what a user types, before anything is written. Each failure is one clear line.

Names and labels (of officials, units, projects, ledger text fields, and a workflow's stages, levels
and itself) end up in mail headers and on terminals, so :func:`line` refuses, besides line breaks:

- any character of the Unicode categories Cc (controls: ESC, U+0085 …), Cf (invisible formatting:
  zero-width spaces, bidi overrides, the BOM), Zl and Zp (U+2028, U+2029) — a mail header would be
  cut or folded by them, a terminal would obey them;
- lone surrogates (Cs): what Python makes of bytes that are not UTF-8 in a command's arguments;
- RFC 2047 encoded words (``=?charset?q?...?=``): a mail reader decodes them, so a name could carry
  a line break into a header after all;
- text with nothing visible in it (only spaces and fillers such as U+3164).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from followup.errors import InvalidInput
from followup.i18n import _

_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
#: a workflow's name is the stem of its file: a plain key, never a path
_WORKFLOW_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
#: letters that draw nothing (Hangul fillers, the braille blank, the Mongolian vowel separator)
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
#: characters a note (free text, mail body only) may hold although they are controls
_NOTE_CONTROLS_ALLOWED = frozenset("\t\n\r")

MAX_EMAIL = 254  # RFC 5321's limit on a forward path


def shown(value: object, limit: int = 60) -> str:
    """``value`` quoted for an error message: escaped (one line, no raw control character) and cut."""
    if isinstance(value, str) and len(value) > limit:
        return _("{start}… ({length} characters)").format(start=repr(value[:limit]), length=len(value))
    return repr(value)


def term(what: str) -> str:
    """What a value is (``what``: "unit name", "--until"), in the user's language. Callers pass it
    translated (``_("unit name")``) or marked (``N_``); an option name stays as it is."""
    return _(what)


def key(value: str, what: str) -> str:
    """A short identifier typed at the terminal: letters, digits, ``_ . -``."""
    if not isinstance(value, str) or not _KEY_RE.fullmatch(value):
        raise InvalidInput(
            _(
                "bad {what} key {value}: use 1-64 letters, digits, _ . - (starting with a letter or digit)"
            ).format(what=term(what), value=shown(value))
        )
    return value


def is_key(value: object) -> bool:
    """Whether ``value`` could be a key (``key`` would take it)."""
    return isinstance(value, str) and _KEY_RE.fullmatch(value) is not None


def is_workflow_name(value: object) -> bool:
    """Whether ``value`` is a plain workflow name (``[a-z][a-z0-9_]*``, at most 64 characters)."""
    return isinstance(value, str) and _WORKFLOW_NAME_RE.fullmatch(value) is not None


def workflow_name(value: str, what: str | None = None) -> str:
    """A workflow's name as typed (``--workflow``, ``workflow show NAME``): a plain key, never a path."""
    if not is_workflow_name(value):
        raise InvalidInput(
            _(
                "bad {what} name {value}: use lower-case letters, digits and _ starting with a letter "
                "(e.g. investment), at most 64"
            ).format(what=term(what) if what else _("workflow"), value=shown(value))
        )
    return value


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be a name or a label (None: it can). The checker of workflow files asks
    the same question of its labels."""
    if value.isprintable() and "=?" not in value and value.strip() and _BLANK_LETTERS.isdisjoint(value):
        return None  # the common case at once (a ledger asks it of 100,000 cells)
    for i, char in enumerate(value):
        category = unicodedata.category(char)
        if category == "Cs":
            return _("is not valid UTF-8 text")
        if category in ("Cc", "Zl", "Zp"):
            return _("must be one line without control characters (U+{code:04X} at {at})").format(
                code=ord(char), at=i
            )
        if category == "Cf":
            return _(
                "must not contain invisible characters such as a zero-width space (U+{code:04X} at {at})"
            ).format(code=ord(char), at=i)
    start = value.find("=?")  # an encoded word, or anything a mail reader might take for one
    if start >= 0 and value.find("?=", start + 2) >= 0:
        return _("must not contain a mail encoded word (=?...?=)")
    if value.strip() and all(c.isspace() or c in _BLANK_LETTERS for c in value):
        return _("must contain a visible character")
    return None


def line(value: str, what: str, *, max_len: int = 300) -> str:
    """One line of text for a name or a label (see the module's docstring for what is refused)."""
    problem = text_problem(value)
    if problem:
        raise InvalidInput(
            _("{what} {problem}: {value}").format(what=term(what), problem=problem, value=shown(value))
        )
    return _stripped(value, what, max_len)


def _stripped(value: str, what: str, max_len: int) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(_("{what} must not be empty").format(what=term(what)))
    if len(value) > max_len:
        raise InvalidInput(
            _("{what} is longer than {max_len} characters").format(what=term(what), max_len=max_len)
        )
    return value


def note(value: str, what: str | None = None, *, max_len: int = 4000) -> str:
    """Free text (notes, reasons, follow-up records): line breaks and tabs allowed, other controls
    (ESC, U+0085, U+2028 …) and bytes that are not UTF-8 not."""
    what = term(what) if what else _("note")
    for char in value:
        category = unicodedata.category(char)
        if category == "Cs":
            raise InvalidInput(_("{what} is not valid UTF-8 text").format(what=what))
        if category in ("Cc", "Zl", "Zp") and char not in _NOTE_CONTROLS_ALLOWED:
            raise InvalidInput(_("{what} contains control characters").format(what=what))
    return _stripped(value, what, max_len)


def email(value: str) -> str:
    """One mailbox address (``name@example.gov.cn``), checked by ``email-validator`` without any DNS
    look-up: the same rule delivery applies to a recipient before sending. Returns the address as it
    goes to the server (an internationalised domain in its ASCII form). A line break is refused,
    never stripped; so are quoted local parts, IP literals, non-ASCII local parts (they need SMTPUTF8)
    and special-use domains (``localhost``, ``.test``, ``.local`` …)."""
    if not isinstance(value, str) or not value or len(value) > MAX_EMAIL or text_problem(value):
        raise InvalidInput(
            _("bad email address {value}: expected one address such as li@example.gov.cn").format(
                value=shown(value)
            )
        )
    # Imported here: compiling its patterns costs ~100 ms, paid only by commands that check addresses.
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(
            value,
            check_deliverability=False,
            allow_smtputf8=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_display_name=False,
        )
    except EmailNotValidError as exc:
        reason = str(exc).rstrip(".")  # email-validator's own words (English)
        raise InvalidInput(
            _("bad email address {value}: {reason}; expected one address such as li@example.gov.cn").format(
                value=shown(value), reason=reason
            )
        ) from None
    return str(checked.ascii_email or checked.normalized)


def decimal(value: str, what: str, *, shown_as: str | None = None) -> Decimal:
    """A non-negative amount with at most two decimals (万元 or 亩), below 10^14. ``shown_as``: what
    the user typed, when ``value`` is what it was read as (``1.2亿`` → ``12000``)."""
    typed = shown(value if shown_as is None else shown_as)
    what = term(what)
    try:
        number = Decimal(value.strip().replace(",", ""))
    except (InvalidOperation, AttributeError):
        raise InvalidInput(
            _("bad {what} {value}: expected a number such as 1500 or 1500.5").format(what=what, value=typed)
        ) from None
    if not number.is_finite() or number < 0:
        raise InvalidInput(
            _("bad {what} {value}: expected a number of zero or more").format(what=what, value=typed)
        )
    # Compared before quantize(): quantizing 1e999999999 to cents exceeds the context's precision.
    if number >= Decimal("1e14"):
        raise InvalidInput(_("bad {what} {value}: too large").format(what=what, value=typed))
    if number != number.quantize(Decimal("0.01")):
        raise InvalidInput(_("bad {what} {value}: at most two decimals").format(what=what, value=typed))
    return number.quantize(Decimal("0.01"))
