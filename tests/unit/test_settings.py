"""Settings loading: precedence (flag > env > file > default), config files, bad values; no database.

Real TOML files under tmp_path and explicit environments; what a county's workflow folder does to the
CLI is in tests/integration/test_settings_cli.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from followup.errors import ConfigError
from followup.settings import load_settings


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(env={"XDG_DATA_HOME": str(tmp_path / "d"), "XDG_CONFIG_HOME": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'd' / 'followup' / 'followup.db'}"
    assert settings.timezone == "Asia/Shanghai"
    assert settings.workflow_dir is None
    assert settings.default_workflow == "investment"


def test_flag_beats_env_beats_file(tmp_path: Path) -> None:
    config = tmp_path / "followup.toml"
    config.write_text('timezone = "Asia/Urumqi"\ndatabase_url = "sqlite:///from-file.db"\n', encoding="utf-8")
    env = {"FOLLOWUP_CONFIG": str(config), "FOLLOWUP_TIMEZONE": "Asia/Hong_Kong"}
    from_file_and_env = load_settings(env=env)
    assert from_file_and_env.timezone == "Asia/Hong_Kong"
    assert from_file_and_env.database_url == "sqlite:///from-file.db"
    assert from_file_and_env.sources == {"timezone": "FOLLOWUP_TIMEZONE", "database_url": str(config)}
    flagged = load_settings({"timezone": "UTC", "database_url": None}, env=env)
    assert flagged.timezone == "UTC"
    assert flagged.database_url == "sqlite:///from-file.db"


def test_the_default_config_file_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "followup"
    folder.mkdir()
    (folder / "config.toml").write_text('default_workflow = "major"\n', encoding="utf-8")
    assert load_settings(env={"XDG_CONFIG_HOME": str(tmp_path)}).default_workflow == "major"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('colour = "red"\n', "unknown key 'colour'"),
        ("timezone = \n", "config file"),
        ('timezone = "Nowhere/Town"\n', "timezone 'Nowhere/Town' is not a known IANA zone"),
    ],
)
def test_bad_config_file(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_settings(env={"FOLLOWUP_CONFIG": str(config)})


def test_missing_config_file_and_workflow_dir(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(env={"FOLLOWUP_CONFIG": str(tmp_path / "nope.toml")})
    with pytest.raises(ConfigError, match="is not a folder"):
        load_settings(env={"FOLLOWUP_WORKFLOW_DIR": str(tmp_path / "nope")})


def test_the_weekly_summary_settings(tmp_path: Path) -> None:
    defaults = load_settings(env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert (defaults.bureau_unit, defaults.long_hold_months) == ("bureau", 6)
    base = {"XDG_CONFIG_HOME": str(tmp_path)}
    chosen = load_settings(env={**base, "FOLLOWUP_BUREAU_UNIT": "tzj", "FOLLOWUP_LONG_HOLD_MONTHS": "3"})
    assert (chosen.bureau_unit, chosen.long_hold_months) == ("tzj", 3)
    for bad in ("0", "121", "six"):
        with pytest.raises(ConfigError, match="bad long hold months"):
            load_settings(env={"XDG_CONFIG_HOME": str(tmp_path), "FOLLOWUP_LONG_HOLD_MONTHS": bad})
