"""The catalogue is whole and current: every message a county user can read — every ``_()``/``N_()``/
``ngettext()`` in followup, every CLI help text, every error's default message and click's own messages — has
a Simplified-Chinese translation, and the compiled ``.mo`` followup reads is the ``.po`` as it stands
(scripts/i18n.py --check). A check of the repository (it extracts from every source file and from the
installed click), not a unit of code: it runs with the integration tier.
"""

from __future__ import annotations

import importlib.util
import io
from contextlib import redirect_stdout
from pathlib import Path
from types import ModuleType

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
