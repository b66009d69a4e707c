"""The progress bar of a long import (issue 9), which only a real process on a real terminal shows:
``followup import`` of a ledger of 600 lines draws tqdm's bars (reading, checking, writing) on stderr
when stderr is a terminal (a pseudo-terminal here, 100 columns wide), and nothing when stderr is a
pipe or the file is short (under ``PROGRESS_FROM`` lines). What the import prints goes to stdout
either way. The county is seeded in-process (quicker); only the import runs as the installed command."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess as sp
import termios
import threading
from pathlib import Path

import pytest

from followup.cli.ledgerio import PROGRESS_FROM
from tests.helpers import Cli, followup_executable
from tests.integration.test_import import NOW, ledger, line, seed

LONG = 600
#: a tqdm bar as it is drawn: "checking:  40%|████      | 240/600 [00:00<00:00, 1203.5rows/s]"
BAR = re.compile(r"(reading|checking|writing): +\d+%\|[^|]*\| *\d+/(\d+) ")


@pytest.fixture
def county(sqlite_url: str, tmp_path: Path) -> Cli:
    cli = Cli(sqlite_url, tmp_path)
    cli.ok("init")
    return seed(cli)


def on_a_terminal(cli: Cli, *args: str) -> tuple[int, str, str]:
    """Runs the installed ``followup`` with stderr on a pseudo-terminal (stdout a pipe): its exit code,
    stdout, and everything it wrote on the terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    drawn: list[bytes] = []

    def drain() -> None:  # read while it writes: a terminal's buffer is small
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                return
            if not chunk:
                return
            drawn.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        proc = sp.Popen(
            [followup_executable(), *args],
            stdin=sp.DEVNULL,
            stdout=sp.PIPE,
            stderr=slave,
            env=cli.process_env(),
        )
        os.close(slave)
        out, _err = proc.communicate(timeout=120)
        reader.join(timeout=10)
    finally:
        os.close(master)
    return proc.returncode, out.decode(), b"".join(drawn).decode("utf-8", "replace")


def test_a_long_import_draws_its_progress_on_a_terminal(county: Cli, tmp_path: Path) -> None:
    assert LONG >= PROGRESS_FROM
    path = ledger(tmp_path / "long.xlsx", [line(f"项目{n}", 目前进度="洽谈") for n in range(LONG)])
    code, out, terminal = on_a_terminal(county, "import", str(path), "--by", "op", "--now", NOW)
    assert code == 0, terminal
    assert f"{LONG} created" in out and "%|" not in out  # the summary on stdout, no bar in it
    bars = {(what, int(total)) for what, total in BAR.findall(terminal)}
    assert {("checking", LONG), ("writing", LONG)} <= bars, terminal
    assert any(what == "reading" and total > LONG for what, total in bars), terminal  # 小计/合计 too

    # short: no bar, even on a terminal
    short = ledger(tmp_path / "short.xlsx", [line(f"短项目{n}", 目前进度="洽谈") for n in range(3)])
    code, out, terminal = on_a_terminal(county, "import", str(short), "--by", "op", "--now", NOW)
    assert code == 0 and "3 created" in out
    assert not BAR.search(terminal) and "%|" not in terminal, terminal


def test_a_long_import_draws_nothing_when_stderr_is_not_a_terminal(county: Cli, tmp_path: Path) -> None:
    path = ledger(tmp_path / "long.xlsx", [line(f"项目{n}", 目前进度="洽谈") for n in range(LONG)])
    proc = sp.run(
        [followup_executable(), "import", str(path), "--by", "op", "--now", NOW],
        capture_output=True,
        text=True,
        timeout=120,
        env=county.process_env(),
    )
    assert proc.returncode == 0, proc.stderr
    assert f"{LONG} created" in proc.stdout
    assert "%|" not in proc.stderr and not BAR.search(proc.stderr), proc.stderr
    assert "\r" not in proc.stderr  # not even a bar drawn and cleared
