"""A county's own calendar file: holidays and make-up working days for years chinesecalendar does not
know yet (the State Council publishes each year's in the autumn before)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import yaml

from followup.domain.calendar import WorkCalendar
from followup.domain.timeutil import FIRST_YEAR, LAST_YEAR
from followup.errors import ConfigError
from followup.i18n import _
from followup.lifecycle.yamlfile import MAX_BYTES, plain_problem


def _read(path: Path) -> object:
    """The file's YAML, plain (no anchors, aliases or tags: see ``yamlfile.plain_problem``)."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ConfigError(
                _("calendar file {path}: larger than {size} KiB").format(path=path, size=MAX_BYTES // 1024)
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(_failed(path, exc)) from None
    found = plain_problem(text)
    if found is not None:
        line, problem = found
        where = f"{path}:{line}" if line else str(path)
        raise ConfigError(_("calendar file {path}: {problem}").format(path=where, problem=problem))
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise ConfigError(_failed(path, exc)) from None


def _failed(path: Path, exc: Exception) -> str:
    """The first line of what the system or PyYAML said (in their words) about the file."""
    return _("calendar file {path}: {problem}").format(path=path, problem=exc).splitlines()[0]


def load_county_calendar(path: Path) -> WorkCalendar:
    """A calendar with a county's own declarations (for years the package does not know yet).

    The file (YAML) lists, per year, the holidays and the make-up working days the State Council
    published; a declared year is then counted from it, weekends included::

        2027:
          holidays: [2027-01-01, {from: 2027-02-06, to: 2027-02-13}]
          workdays: [2027-02-14, 2027-02-20]
    """
    data = _read(path)
    if not isinstance(data, dict):
        raise ConfigError(
            _("calendar file {path}: expected years as keys, e.g. 2027: {{holidays: [...]}}").format(
                path=path
            )
        )
    holidays: set[date] = set()
    workdays: set[date] = set()
    years: set[int] = set()

    def days(value: object, where: str, year: int) -> list[date]:
        if isinstance(value, date):
            return [value]
        if isinstance(value, dict) and set(value) == {"from", "to"}:
            start, end = value["from"], value["to"]
            if isinstance(start, date) and isinstance(end, date) and start <= end:
                if start.year != year or end.year != year:  # before expanding: a range stays in its year
                    raise ConfigError(
                        _("calendar file {path}: {where}: {start} to {end} is not in {year}").format(
                            path=path, where=where, start=start, end=end, year=year
                        )
                    )
                return [start + timedelta(days=i) for i in range((end - start).days + 1)]
        raise ConfigError(
            _("calendar file {path}: {where}: expected a date (2027-01-01) or {{from: D, to: D}}").format(
                path=path, where=where
            )
        )

    for year, entry in data.items():
        if (
            not isinstance(year, int)
            or isinstance(year, bool)
            or not FIRST_YEAR <= year <= LAST_YEAR
            or not isinstance(entry, dict)
            or set(entry) - {"holidays", "workdays"}
        ):
            raise ConfigError(
                _(
                    "calendar file {path}: {where}: expected holidays: [...] and workdays: [...] "
                    "under a year from {first} to {last}"
                ).format(path=path, where=str(year)[:20], first=FIRST_YEAR, last=LAST_YEAR)
            )
        years.add(year)
        for key, target in (("holidays", holidays), ("workdays", workdays)):
            for i, item in enumerate(entry.get(key) or []):
                for day in days(item, f"{year}.{key}[{i}]", year):
                    if day.year != year:
                        raise ConfigError(
                            _("calendar file {path}: {where}: {day} is not in {year}").format(
                                path=path, where=f"{year}.{key}[{i}]", day=day, year=year
                            )
                        )
                    target.add(day)
    return WorkCalendar(county_holidays=holidays, county_workdays=workdays, county_years=years)
