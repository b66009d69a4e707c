"""The language follows FOLLOWUP_LANG, and messages and errors' defaults follow the language (no database).
That the catalogue is whole and current is checked over the whole tree in
tests/integration/test_catalogue.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from followup import i18n
from followup.errors import InvalidInput, UnknownUnit

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("requested", "language"),
    [(None, "zh_CN"), ("", "zh_CN"), ("zh_CN", "zh_CN"), ("zh_CN.UTF-8", "zh_CN"), ("zh", "zh_CN"),
     ("en", "en"), ("en_US.UTF-8", "en"), ("C", "en"), ("xx", "zh_CN")],
)  # fmt: skip
def test_the_language_follows_followup_lang(requested: str | None, language: str) -> None:
    assert i18n.resolve(requested) == language


def test_messages_and_error_defaults_follow_the_language() -> None:
    try:
        i18n.use("zh_CN")
        assert i18n.current() == "zh_CN"
        assert str(InvalidInput()) != "a value given is invalid"  # the docstring, translated
        assert any("\u4e00" <= c <= "\u9fff" for c in str(UnknownUnit()))
        assert i18n._("error: {message}") != "error: {message}"
        i18n.use("en")
        assert str(InvalidInput()) == "a value given is invalid"
        assert i18n._("error: {message}") == "error: {message}"
    finally:
        i18n.use("en")
