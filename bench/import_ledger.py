"""Benchmark: ``followup import`` of a 10,000-line county ledger on SQLite (target ≥ 2,000 lines/s).

Builds a ledger the way a county does (a merged title row, a 填报单位 row, the header with 序号 and
备注, amounts with units, dates typed as text, a 小计 row every 50 lines), with 20 units, 60 case
officers and 5 leaders written by their titles (马县长), then imports it through the use case on a fresh
SQLite file and prints lines per second: the whole import (reading the xlsx included), then the same
file again (every line matched, nothing changed), then a dry run on an empty copy. ``--repeat N``
imports the ledger N times, each into a fresh database, and judges the median (a shared machine's
noise is seconds); each import's CPU time is printed beside it.

Run from the repository root::

    .venv/bin/python bench/import_ledger.py [--rows 10000] [--repeat 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import Workbook

from followup.app import ledgerio, organisation
from followup.app.runtime import Runtime
from followup.settings import load_settings

TARGET = 2000.0
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
STAGES = ("线索", "洽谈中", "已签约", "供地", "开工建设", "已投产")
HEADER = [
    "序号", "项目编号", "项目名称", "投资主体", "所属产业链", "总投资（万元）", "用地面积（亩）", "目前进度",
    "责任单位", "责任人", "联系电话", "包抓领导", "签约时间", "计划开工时间", "最新进展", "最近跟进日期",
    "备注",
]  # fmt: skip
LEADERS = ("马县长", "张常委", "李副县长", "王副县长", "赵副县长")


def seed(rt: Runtime) -> None:
    organisation.add_unit(rt, "bureau", "县投资促进服务中心", "department")
    organisation.add_official(rt, "op", name="操作员", email="op@example.gov.cn", unit="bureau")
    for u in range(20):
        organisation.add_unit(rt, f"u{u}", f"第{u}乡人民政府", "township")
        for o in range(3):
            key = f"o{u}_{o}"
            organisation.add_official(
                rt, key, name=f"干部{u}_{o}", email=f"{key}@example.gov.cn", unit=f"u{u}"
            )
    for i, title in enumerate(LEADERS):
        organisation.add_official(
            rt, f"l{i}", name=f"领导{i}", email=f"l{i}@example.gov.cn", unit="bureau", roles=["leader"],
            aliases=[title],
        )  # fmt: skip


def build(path: Path, rows: int, seed_: int = 2026) -> None:
    rng = random.Random(seed_)
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "台账"
    ws.append(["某县2026年招商引资项目台账"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    ws.append(["填报单位：县投资促进服务中心", *[None] * 12, "截止日期：2026年11月20日"])
    ws.append(HEADER)
    for n in range(1, rows + 1):
        u = rng.randrange(20)
        stage = rng.choice(STAGES)
        amount = rng.choice(
            [f"{rng.randrange(100, 90000):,}", f"{rng.randrange(1, 50)}亿", rng.randrange(100, 9000)]
        )
        month, day = rng.randrange(1, 11), rng.randrange(1, 28)
        ws.append(
            [
                n,
                f"P{n:06d}",
                f"项目{n}",
                f"投资企业{rng.randrange(500)}",
                rng.choice(["健康食品", "乳品加工", "云服务", None]),
                amount,
                rng.choice([f"{rng.randrange(5, 300)}亩", rng.randrange(5, 300)]),
                stage,
                f"第{u}乡人民政府",
                f"干部{u}_{rng.randrange(3)}",
                "138****1234",
                rng.choice(LEADERS),
                rng.choice([f"2026-{month}-{day}", f"2026年{month}月{day}日", f"2026/{month}/{day}"]),
                f"2027.{month:02d}.{day:02d}",
                rng.choice(["已完成土地预审", "投资方考察中", None]),
                f"2026-{rng.randrange(9, 12)}-{rng.randrange(1, 19)}",
                rng.choice(["重点项目", None]),
            ]
        )
        if n % 50 == 0:
            ws.append(["小计", None, None, None, None, "=SUM(F4:F10)"])
    ws.append(["合计"])
    book.save(path)


def runtime(folder: Path) -> Runtime:
    settings = load_settings(
        {"database_url": f"sqlite:///{folder / 'followup.db'}", "data_dir": str(folder / "data")}
    )
    rt = Runtime.open(settings).at(NOW)
    rt.init()
    return rt


def timed(rt: Runtime, path: Path, *, dry_run: bool = False) -> tuple[ledgerio.ImportResult, float]:
    result, seconds, _cpu = timed_cpu(rt, path, dry_run=dry_run)
    return result, seconds


def timed_cpu(
    rt: Runtime, path: Path, *, dry_run: bool = False
) -> tuple[ledgerio.ImportResult, float, float]:
    """The import's result, its wall-clock seconds and this process's CPU seconds (less noisy)."""
    start, cpu = time.perf_counter(), time.process_time()
    result, _sheet, _marks = ledgerio.import_ledger(rt, path, by="op", dry_run=dry_run)
    return result, time.perf_counter() - start, time.process_time() - cpu


def first_imports(folder: Path, path: Path, repeat: int) -> tuple[Runtime, float] | None:
    """Imports ``path`` ``repeat`` times, each into a fresh database; the last runtime and the median
    rate (None: the ledger was refused)."""
    rates: list[float] = []
    rt: Runtime | None = None
    for n in range(repeat):
        rt = runtime(folder / f"a{n}")
        seed(rt)
        result, seconds, cpu = timed_cpu(rt, path)
        if result.problems:
            print(f"{len(result.problems)} problems, e.g. {result.problems[0]}", file=sys.stderr)
            return None
        rates.append(result.rows / seconds)
        print(
            f"import:    {result.created} created in {seconds:.2f} s (CPU {cpu:.2f} s) = "
            f"{rates[-1]:,.0f} lines/s (target ≥ {TARGET:,.0f})"
        )
    assert rt is not None
    return rt, statistics.median(rates)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=1, help="import the ledger this many times (median)")
    parser.add_argument("--keep", type=Path, help="keep the ledger and the database in this folder")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="followup-import-"))
    try:
        path = folder / "ledger.xlsx"
        start = time.perf_counter()
        build(path, args.rows)
        print(
            f"built {args.rows} lines in {time.perf_counter() - start:.1f} s "
            f"({path.stat().st_size // 1024} KiB)"
        )
        done = first_imports(folder, path, max(1, args.repeat))
        if done is None:
            return 2
        rt, rate = done
        if args.repeat > 1:
            print(f"import:    median of {args.repeat}: {rate:,.0f} lines/s (target ≥ {TARGET:,.0f})")
        again, seconds2 = timed(rt, path)
        print(
            f"re-import: {again.changed} changed, {again.unchanged} unchanged in {seconds2:.2f} s = "
            f"{again.rows / seconds2:,.0f} lines/s"
        )
        dry_rt = runtime(folder / "b")
        seed(dry_rt)
        dry, seconds3 = timed(dry_rt, path, dry_run=True)
        print(
            f"dry run:   {dry.created} would be created, {dry.notifications} notifications forecast for "
            f"{len(dry.mails)} officials in {seconds3:.2f} s"
        )
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copytree(folder, args.keep, dirs_exist_ok=True)
        return 0 if rate >= TARGET else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
