"""Checks on what a user types, before anything is written. Each failure is one clear line."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from followup.errors import InvalidInput

_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]")


def key(value: str, what: str) -> str:
    """A short identifier typed at the terminal: letters, digits, ``_ . -``."""
    if not _KEY_RE.match(value or ""):
        raise InvalidInput(
            f"bad {what} key {value!r}: use 1-64 letters, digits, _ . - (starting with a letter or digit)"
        )
    return value


def line(value: str, what: str, *, max_len: int = 300) -> str:
    """One line of text: no line break or control character (they would break mail headers)."""
    if _CONTROL_RE.search(value):
        raise InvalidInput(f"{what} must be one line without control characters: {value!r}")
    return _stripped(value, what, max_len)


def _stripped(value: str, what: str, max_len: int) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(f"{what} must not be empty")
    if len(value) > max_len:
        raise InvalidInput(f"{what} is longer than {max_len} characters")
    return value


def note(value: str, what: str = "note", *, max_len: int = 4000) -> str:
    """Free text (notes, reasons, follow-up records): line breaks allowed, other control characters not."""
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value):
        raise InvalidInput(f"{what} contains control characters")
    return _stripped(value, what, max_len)


def email(value: str) -> str:
    """A plain mailbox address (``name@example.gov.cn``); a line break is refused, never stripped."""
    if _CONTROL_RE.search(value) or not _EMAIL_RE.match(value) or len(value) > 254:
        raise InvalidInput(f"bad email address {value!r}: expected one address such as li@example.gov.cn")
    return value


def decimal(value: str, what: str) -> Decimal:
    """A non-negative amount with at most two decimals (万元 or 亩)."""
    try:
        number = Decimal(value.strip().replace(",", ""))
    except (InvalidOperation, AttributeError):
        raise InvalidInput(f"bad {what} {value!r}: expected a number such as 1500 or 1500.5") from None
    if not number.is_finite() or number < 0:
        raise InvalidInput(f"bad {what} {value!r}: expected a number of zero or more")
    if number != number.quantize(Decimal("0.01")):
        raise InvalidInput(f"bad {what} {value!r}: at most two decimals")
    if number >= Decimal("1e14"):
        raise InvalidInput(f"bad {what} {value!r}: too large")
    return number.quantize(Decimal("0.01"))
