"""The catalogue is whole and current, and the language follows FOLLOWUP_LANG (no database).

Every message a county user can read — every ``_()``/``N_()``/``ngettext()`` in followup, every CLI help
text, every error's default message and click's own messages — has a Simplified-Chinese translation, and the
compiled ``.mo`` followup reads is the ``.po`` as it stands (scripts/i18n.py --check).
"""

from __future__ import annotations

import importlib.util
import io
from contextlib import redirect_stdout
from pathlib import Path
from types import ModuleType

import pytest

from followup import i18n
from followup.errors import InvalidInput, UnknownUnit

ROOT = Path(__file__).resolve().parents[2]


def catalogue_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "scripts" / "i18n.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_message_has_a_chinese_translation_and_the_mo_is_current() -> None:
    tool = catalogue_tool()
    out = io.StringIO()
    with redirect_stdout(out):
        failed = tool.check()
    assert failed == 0, "\n" + out.getvalue()[:4000]
    pot = tool.template()
    assert len(pot) > 300  # followup's messages, its help texts, its errors and click's


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
