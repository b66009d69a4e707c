"""Settings precedence (flag > env > file > default) and a county's own workflow folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from followup.errors import ConfigError
from followup.settings import load_settings
from followup.workflow import shipped_dir
from tests.conftest import Cli


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


def test_a_county_workflow_beside_the_shipped_ones(cli: Cli, tmp_path: Path) -> None:
    county_dir = tmp_path / "county-workflows"
    county_dir.mkdir()
    text = (shipped_dir("workflows") / "investment.yaml").read_text(encoding="utf-8")
    fast = text.replace("name: investment", "name: fast").replace(
        "limit: {days: 30}          # decide", "limit: {days: 5}          # decide"
    )
    assert fast != text
    (county_dir / "fast.yaml").write_text(fast, encoding="utf-8")
    env = {"FOLLOWUP_WORKFLOW_DIR": str(county_dir)}
    listed = cli("workflow", "list", env=env)
    assert listed.code == 0 and [line.split("\t")[0] for line in listed.out.splitlines()] == [
        "fast",
        "investment (default)",
        "major",
    ]
    cli.ok("unit", "add", "u1", "--name", "城关镇")
    cli.ok("official", "add", "o1", "--name", "李娜", "--email", "o1@example.gov.cn", "--unit", "u1")
    added = cli(
        "project", "add", "--name", "P", "--officer", "o1", "--unit", "u1", "--workflow", "fast",
        "--since", "2026-06-01", "--now", "2026-06-02", env=env,
    )  # fmt: skip
    assert added.code == 0, added.err
    shown = cli("project", "show", "1", "--json", env=env).json()
    assert (shown["workflow"], shown["deadline"]) == ("fast", "2026-06-06")
    # without the county folder the project's workflow is unknown: said in one line
    missing = cli("project", "show", "1")
    assert missing.code == 3 and missing.err.startswith("error: no workflow named 'fast'")


def test_workflow_check_warns_about_a_level_without_templates(cli: Cli, tmp_path: Path) -> None:
    text = (shipped_dir("workflows") / "investment.yaml").read_text(encoding="utf-8")
    custom = text.replace("name: investment", "name: county").replace("level: red", "level: orange")
    path = tmp_path / "county.yaml"
    path.write_text(custom, encoding="utf-8")
    result = cli("workflow", "check", str(path))
    assert result.code == 0 and result.out.startswith(f"{path}: ok")
    assert result.err.strip() == (
        f"warning: {path}: ladder level 'orange' has no mail templates (orange.subject.j2, orange.txt.j2, "
        "orange.html.j2 in FOLLOWUP_TEMPLATE_DIR); its mail uses the yellow ones"
    )
    templates = tmp_path / "templates"
    templates.mkdir()
    for part in ("subject", "txt", "html"):
        (templates / f"orange.{part}.j2").write_text("{{ level.label }}", encoding="utf-8")
    quiet = cli("workflow", "check", str(path), env={"FOLLOWUP_TEMPLATE_DIR": str(templates)})
    assert (quiet.code, quiet.err) == (0, "")
