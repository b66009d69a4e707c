"""Benchmark: wall time of one real ``followup advance`` against the interpreter's import floor.

What it measures
    * advance: the installed ``followup`` console script doing a real stage move on a SQLite
      database (``followup advance ID lead --by o1`` then ``followup advance ID talks --by o1``,
      round trips over many projects, so every move is valid and both directions are timed);
    * floor: ``python -c "import sqlalchemy, click"`` with the same interpreter, i.e. the least a
      Python CLI built on these two libraries can cost.

The two are interleaved (and their order alternates every run) so machine noise hits both alike.
It prints median and min of each, the ratio advance/floor against the target (≤ 1.5×), the
modules on the CLI's import path that cost the most (``python -X importtime``), and flags heavy
dependencies (jinja2, apscheduler, yagmail, openpyxl, alembic) that ``import followup.cli,
followup.service`` should not load.

The database is set up through the real CLI (``init``, ``unit add``, ``official add``); the projects
are added through the library for speed. Everything lives in a temporary folder removed at the end.
Subprocesses get ``FOLLOWUP_DATABASE_URL`` and ``FOLLOWUP_DATA_DIR`` (every other ``FOLLOWUP_*``
variable is removed, and ``XDG_CONFIG_HOME`` points into the temporary folder so no user config
file is read).

Bytecode: with ``PYTHONDONTWRITEBYTECODE`` set and an editable install, followup's own modules are
compiled from source on every run (site-packages and the stdlib ship ``.pyc``), which costs the
advance side tens of ms the floor never pays. ``--cached-bytecode`` gives every subprocess a
``PYTHONPYCACHEPREFIX`` inside the temporary folder instead (filled during the warm-up, nothing is
written under ``src/``), i.e. what a normal installation sees. The default measures the environment
as it is and says when this applies.

Run from the repository root::

    .venv/bin/python bench/cli_advance.py [--runs 15] [--projects 200] [--warmup 2]
                                          [--cached-bytecode]

Exit status: 0 when the median ratio is within the target, 1 when it is over, 2 on a failed command.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

TARGET = 1.5
HEAVY = ("jinja2", "apscheduler", "yagmail", "openpyxl", "alembic")
PYTHON = sys.executable  # the venv's python when run as .venv/bin/python
FOLLOWUP = str(Path(PYTHON).parent / "followup")  # the installed console script beside it


def bench_env(tmp: Path, url: str, data_dir: Path, cached_bytecode: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    env["FOLLOWUP_DATABASE_URL"] = url
    env["FOLLOWUP_DATA_DIR"] = str(data_dir)
    env["XDG_CONFIG_HOME"] = str(tmp / "config")  # empty: no ~/.config/followup/config.toml
    if cached_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    return env


def bytecode_note(env: dict[str, str]) -> str:
    """How followup's modules get their bytecode in the subprocesses."""
    if env.get("PYTHONPYCACHEPREFIX"):
        return f"bytecode cached under PYTHONPYCACHEPREFIX={env['PYTHONPYCACHEPREFIX']}"
    import followup

    cache = Path(followup.__file__).parent / "__pycache__"
    if env.get("PYTHONDONTWRITEBYTECODE") and not cache.is_dir():
        return (
            "note: PYTHONDONTWRITEBYTECODE is set and followup has no __pycache__: its modules "
            "are compiled on every run (try --cached-bytecode)"
        )
    return "bytecode as the environment has it"


def run(cmd: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a command; stop the benchmark with its output when it fails."""
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(
            f"command failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stdout}{proc.stderr}"
        )
        raise SystemExit(2)
    return proc


def timed(cmd: Sequence[str], env: dict[str, str]) -> float:
    """Wall time of one run of ``cmd`` in seconds (exit code checked)."""
    start = time.perf_counter()
    run(cmd, env)
    return time.perf_counter() - start


def setup(env: dict[str, str], url: str, data_dir: Path, projects: int) -> list[int]:
    """Db, unit and official through the CLI; the projects (all at talks) through the library."""
    run([FOLLOWUP, "init"], env)
    run([FOLLOWUP, "unit", "add", "u1", "--name", "城关镇"], env)
    run(
        [FOLLOWUP, "official", "add", "o1", "--name", "李娜", "--email", "o1@example.gov.cn", "--unit", "u1"],
        env,
    )

    from followup.app import ledger
    from followup.app.runtime import Runtime
    from followup.settings import load_settings

    rt = Runtime.open(load_settings({"database_url": url, "data_dir": str(data_dir)}, env=env))
    try:
        rt = rt.at(datetime.now(UTC))
        ids = []
        for i in range(projects):
            data = ledger.ProjectInput(
                name=f"基准项目{i:04d}", officer="o1", unit="u1", values={"investor": "x"}
            )
            ids.append(ledger.add_project(rt, data, stage="talks").id)
    finally:
        rt.close()  # no pooled connection left open beside the CLI's
    return ids


class Mover:
    """Hands out valid moves: a project goes talks → lead, then lead → talks, then the next one."""

    def __init__(self, ids: Sequence[int]) -> None:
        self.ids = list(ids)
        self.state = dict.fromkeys(self.ids, "talks")
        self.n = 0

    def next_cmd(self) -> list[str]:
        pid = self.ids[(self.n // 2) % len(self.ids)]
        self.n += 1
        target = "lead" if self.state[pid] == "talks" else "talks"
        self.state[pid] = target
        return [FOLLOWUP, "advance", str(pid), target, "--by", "o1"]


def measure(env: dict[str, str], mover: Mover, runs: int, warmup: int) -> tuple[list[float], list[float]]:
    floor_cmd = [PYTHON, "-c", "import sqlalchemy, click"]
    advance: list[float] = []
    floor: list[float] = []
    for i in range(warmup + runs):
        pair = [("advance", mover.next_cmd()), ("floor", floor_cmd)]
        if i % 2:
            pair.reverse()  # alternate the order so drift within a pair cancels out
        for kind, cmd in pair:
            seconds = timed(cmd, env)
            if i >= warmup:
                (advance if kind == "advance" else floor).append(seconds)
    return advance, floor


def verdict(ratio: float) -> str:
    return "PASS" if ratio <= TARGET else "OVER"


def report(advance: list[float], floor: list[float]) -> bool:
    a_med, a_min = statistics.median(advance), min(advance)
    f_med, f_min = statistics.median(floor), min(floor)
    r_med, r_min = a_med / f_med, a_min / f_min
    print(f"{'':32}{'median':>10}{'min':>10}")
    print(f"{'followup advance (ms)':32}{a_med * 1e3:>10.1f}{a_min * 1e3:>10.1f}")
    print(f"{'import sqlalchemy, click (ms)':32}{f_med * 1e3:>10.1f}{f_min * 1e3:>10.1f}")
    print(f"{'ratio advance/floor':32}{r_med:>9.2f}×{r_min:>9.2f}×")
    print(f"{'target ≤ 1.5×':32}{verdict(r_med):>10}{verdict(r_min):>10}")
    return r_med <= TARGET


def parse_importtime(stderr: str) -> list[tuple[str, int, int, int]]:
    """(name, depth, self µs, cumulative µs) per ``-X importtime`` line, in printed order."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_part, cum_part, name = line.split("|", 2)
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2  # "| " then two spaces a level
        rows.append((name.strip(), depth, int(self_part.split(":")[1]), int(cum_part)))
    return rows


def importers(rows: list[tuple[str, int, int, int]]) -> dict[str, str]:
    """Which module imported each one: the next printed line one level up (children print first)."""
    parent: dict[str, str] = {}
    pending: dict[int, list[str]] = {}
    for name, depth, _self, _cum in rows:
        for child in pending.pop(depth + 1, []):
            parent.setdefault(child, name)
        pending.setdefault(depth, []).append(name)
    return parent


def import_profile(env: dict[str, str], statement: str, top: int = 10, repeat: int = 3) -> None:
    """Top modules by cumulative import time (best of ``repeat`` runs), with who imported them.

    Only followup's own modules and what they import directly are ranked (not, say, the inside of
    sqlalchemy): those are the imports followup could make lazy. A module's cumulative time counts
    only what was not loaded before it, so the first importer of a shared dependency pays for it.
    """
    best: dict[str, tuple[int, int]] = {}
    parent: dict[str, str] = {}
    total = 0
    for _ in range(repeat):
        proc = subprocess.run(
            [PYTHON, "-X", "importtime", "-c", statement], env=env, capture_output=True, text=True, check=True
        )
        rows = parse_importtime(proc.stderr)
        parent = importers(rows)
        for name, depth, self_us, cum_us in rows:
            if depth == 0:  # the statement's own modules: their sum is the total above
                continue
            old = best.get(name)
            if old is None or cum_us < old[1]:
                best[name] = (self_us, cum_us)
        head = [r for r in rows if r[1] == 0 and r[0].startswith("followup")]
        run_total = sum(r[3] for r in head)
        total = run_total if total == 0 else min(total, run_total)
    print(
        f"\npython -X importtime -c {statement!r}: {total / 1e3:.1f} ms in total, "
        f"top {top} followup modules and direct imports by cumulative (best of {repeat})"
    )
    print(f"  {'module':36}{'cum ms':>8}{'self ms':>9}  imported by")
    ours = {
        n: t for n, t in best.items() if n.startswith("followup") or parent.get(n, "").startswith("followup")
    }
    ranked = sorted(ours.items(), key=lambda kv: kv[1][1], reverse=True)
    for name, (self_us, cum_us) in ranked[:top]:
        print(f"  {name:36}{cum_us / 1e3:>8.1f}{self_us / 1e3:>9.1f}  {parent.get(name, '-')}")
    print(
        "  (cum counts shared modules the first importer happens to load, e.g. re, typing, enum;"
        "\n   making a module lazy saves only what nothing else on the path needs)"
    )


def heavy_check(env: dict[str, str]) -> None:
    code = (
        "import json, sys, followup.cli, followup.app.moves; "
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    proc = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True, check=True)
    loaded = json.loads(proc.stdout)
    if loaded:
        print(f"\nFLAG: `import followup.cli, followup.app.moves` loads {', '.join(loaded)}")
    else:
        print(f"\nok: `import followup.cli, followup.app.moves` loads none of {', '.join(HEAVY)}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each (default 15)")
    parser.add_argument("--projects", type=int, default=200, help="projects in the db (default 200)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first (default 2)")
    parser.add_argument(
        "--cached-bytecode",
        action="store_true",
        help="give the subprocesses a private PYTHONPYCACHEPREFIX (see above)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.projects < 1 or args.warmup < 0:
        parser.error("--runs and --projects must be ≥ 1, --warmup ≥ 0")

    with tempfile.TemporaryDirectory(prefix="followup-bench-") as name:
        tmp = Path(name)
        data_dir = tmp / "data"
        url = f"sqlite:///{data_dir / 'followup.db'}"
        env = bench_env(tmp, url, data_dir, args.cached_bytecode)
        ids = setup(env, url, data_dir, args.projects)
        print(
            f"{FOLLOWUP} on SQLite, {args.projects} projects, "
            f"{args.runs} runs after {args.warmup} warm-up, Python {sys.version.split()[0]}"
        )
        print(f"{bytecode_note(env)}\n")
        advance, floor = measure(env, Mover(ids), args.runs, args.warmup)
        ok = report(advance, floor)
        import_profile(env, "import followup.cli")
        import_profile(env, "import followup.cli, followup.app.moves")
        heavy_check(env)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
