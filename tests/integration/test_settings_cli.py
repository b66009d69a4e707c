"""Settings through the CLI (in-process) over a real SQLite file: a county's own workflow folder beside
the shipped workflows, and a county workflow whose ladder level has no mail templates."""

from __future__ import annotations

from pathlib import Path

from followup.paths import shipped_dir
from tests.helpers import Cli


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
    # without the county folder the project's workflow is unknown: still shown, its stage by key and
    # its problem said (issue 7: one bad project never blocks the others)
    missing = cli("project", "show", "1", "--json").json()
    assert (missing["stage"], missing["stage_label"], missing["level"]) == ("lead", "lead", None)
    assert missing["problem"].startswith("its workflow cannot be loaded: no workflow named 'fast'")


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
