"""What users type, checked before anything is written: each refusal one clear line (no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from followup.domain import validate
from followup.errors import InvalidInput


@pytest.mark.parametrize("good", ["lina", "Li.Na-2", "a", "x" * 64, "chengguan_1"])
def test_keys(good: str) -> None:
    assert validate.key(good, "official") == good


@pytest.mark.parametrize("bad", ["", "-lina", "li na", "李娜", "x" * 65, "a/b", ".hidden"])
def test_bad_keys(bad: str) -> None:
    with pytest.raises(InvalidInput, match=r"^bad official key "):
        validate.key(bad, "official")


def test_a_key_is_one_line() -> None:
    # "$" let a trailing line break through: `unit add "hexi<newline>"` stored a key with a newline in it
    with pytest.raises(InvalidInput, match=r"^bad unit key 'hexi\\n'"):
        validate.key("hexi\n", "unit")
    assert not validate.is_key("lina\n")


def test_a_line_is_stripped_and_one_line() -> None:
    assert validate.line("  城关镇人民政府 ", "unit name") == "城关镇人民政府"
    for bad in ("张\n三", "张\r三", "a\x00b", "a\u2028b", "a\x85b", "a\x1bb"):
        with pytest.raises(InvalidInput, match="must be one line without control characters"):
            validate.line(bad, "name")
    with pytest.raises(InvalidInput, match=r"^name must not be empty$"):
        validate.line("   ", "name")
    with pytest.raises(InvalidInput, match=r"^name is longer than 5 characters$"):
        validate.line("abcdef", "name", max_len=5)


def test_a_note_keeps_its_line_breaks() -> None:
    assert validate.note(" 第一行\n第二行\t完 ") == "第一行\n第二行\t完"
    with pytest.raises(InvalidInput, match=r"^note contains control characters$"):
        validate.note("a\x07b")
    with pytest.raises(InvalidInput, match=r"^reason must not be empty$"):
        validate.note("\n", "reason")


@pytest.mark.parametrize("good", ["li@example.gov.cn", "li.na+x@sub.example.gov.cn"])
def test_addresses(good: str) -> None:
    assert validate.email(good) == good


@pytest.mark.parametrize(
    "bad",
    ["li", "li@", "@example.gov.cn", "li@localhost", "li@example.gov.cn\nBcc: x@y.cn", "a b@example.cn"],
)
def test_bad_addresses(bad: str) -> None:
    with pytest.raises(InvalidInput, match=r"^bad email address "):
        validate.email(bad)


@pytest.mark.parametrize(
    ("text", "value"),
    [("1500", "1500.00"), ("1,500.5", "1500.50"), (" 0 ", "0.00"), ("12000.25", "12000.25")],
)
def test_amounts(text: str, value: str) -> None:
    assert validate.decimal(text, "amount") == Decimal(value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc", "expected a number such as 1500"),
        ("-1", "expected a number of zero or more"),
        ("NaN", "expected a number of zero or more"),
        ("1.234", "at most two decimals"),
        ("1e14", "too large"),
    ],
)
def test_bad_amounts(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        validate.decimal(text, "amount")
