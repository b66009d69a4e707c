"""The monthly bulletin as a county leader sees it: the HTML page rendered by a real headless Chromium
(Debian's ``chromium``, with ``fonts-noto-cjk``; ``scripts/test`` installs both when missing), driven by
Playwright, its full-page screenshot kept as an artifact; and the PDF (WeasyPrint) read back as text
with poppler's ``pdftotext``.

The county is entered through the use cases and the bulletin made by the CLI in-process, with ``--now``
in the past (2026-11-05, the October bulletin). Artifacts go to ``artifacts/`` at the top of the checkout
(ignored by git); their paths are printed (``pytest -s`` shows them, ``-ra`` lists them on a skip).
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.bulletin_county import ISSUED, seed
from tests.helpers import Cli, make_runtime

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
TITLE = "本县招商引资项目推进情况通报"


@pytest.fixture
def made(sqlite_url: str, tmp_path: Path) -> dict[str, Path]:
    """The October bulletin of the bulletin county as HTML and as PDF, written by the CLI."""
    cli = Cli(sqlite_url, tmp_path)
    cli.ok("init")
    seed(make_runtime(sqlite_url, tmp_path))
    ARTIFACTS.mkdir(exist_ok=True)
    out = {}
    for fmt in ("html", "pdf"):
        path = ARTIFACTS / f"bulletin-2026-10.{fmt}"
        args = ("bulletin", "--month", "2026-10", "--format", fmt, "--output", str(path), "--now", ISSUED)
        cli.ok(*args, env={"FOLLOWUP_LANG": ""})  # as a county reads it: in Chinese
        out[fmt] = path
    return out


def test_the_html_bulletin_in_headless_chromium(made: dict[str, Path]) -> None:
    if not CHROMIUM.exists():
        pytest.skip(
            "no /usr/bin/chromium: install Debian's chromium and fonts-noto-cjk (scripts/test does) to "
            "render the bulletin in a real browser"
        )
    from PIL import Image
    from playwright.sync_api import sync_playwright

    shot = ARTIFACTS / "bulletin-2026-10.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 900, "height": 1200})
            page.goto(made["html"].as_uri())
            page.wait_for_load_state("load")
            text = page.inner_text("body")
            for shown in (TITLE, "（2026年10月）", "招商引资工作通报", "〔2026〕第10期", "2026年11月5日"):
                assert shown in text, shown
            for shown in (
                "西城镇人民政府",
                "东城乡人民政府",
                "中药材种植基地",
                "红榜",
                "黑榜",
                "50.0%",
                "33.3%",
            ):
                assert shown in text, shown
            title = page.locator("#title").bounding_box()
            redhead = page.locator("#redhead").bounding_box()
            assert title is not None and title["width"] > 100 and title["height"] > 20
            assert redhead is not None and redhead["width"] > 100
            # The glyphs of the title come from a CJK font, not a fallback box: ask the browser which
            # platform fonts drew the node (DevTools protocol).
            cdp = page.context.new_cdp_session(page)
            root = cdp.send("DOM.getDocument")["root"]["nodeId"]
            node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "#title"})["nodeId"]
            cdp.send("CSS.enable")
            fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
            cjk = [f for f in fonts if "CJK" in f["familyName"] and f["glyphCount"] > 0]
            assert cjk, f"the title was drawn without a CJK font: {fonts}"
            # no request left the page: everything is in the file
            assert page.evaluate("performance.getEntriesByType('resource').length") == 0
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    print(f"\nbulletin screenshot: {shot}\nbulletin page: {made['html']}\nbulletin PDF: {made['pdf']}")
    image = Image.open(shot).convert("RGB")
    assert image.height > 1500  # the whole document, several screens long
    colours = image.getcolors(maxcolors=10_000_000) or []
    assert len(colours) > 20  # not blank
    red = sum(n for n, (r, g, b) in colours if r > 170 and g < 60 and b < 60)
    dark = sum(n for n, (r, g, b) in colours if r < 90 and g < 90 and b < 90)
    assert red > 2000 and dark > 5000  # the red head and the black text were drawn


def test_the_pdf_bulletin_has_its_text(made: dict[str, Path]) -> None:
    data = made["pdf"].read_bytes()
    assert data.startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.skip("no pdftotext: install poppler-utils (scripts/test does) to read the PDF back")
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(made["pdf"]), "-"], capture_output=True, check=True, timeout=60
    ).stdout.decode("utf-8")
    flat = "".join(text.split())
    for shown in (TITLE, "（2026年10月）", "一、总体情况", "西城镇人民政府", "冷链物流园", "红灯", "约谈"):
        assert shown in flat, shown
    pages = subprocess.run(["pdfinfo", str(made["pdf"])], capture_output=True, check=True, timeout=60)
    info = dict(
        line.split(":", 1) for line in io.StringIO(pages.stdout.decode()).read().splitlines() if ":" in line
    )
    assert "595" in info["Page size"] and "841" in info["Page size"]  # A4 in points
    assert int(info["Pages"]) >= 2
