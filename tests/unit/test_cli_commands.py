"""The CLI's command table and help: every command is defined where ``cli.root.COMMANDS`` says (its module
is imported only when it runs), and every command and option explains itself (no database)."""

from __future__ import annotations

import click

from followup.cli.root import COMMANDS, cli

_SELF_EXPLAINING = {
    "name",
    "email",
    "kind",
    "stage",
    "unit_key",
    "officer",
    "leader",
    "chain",
    "workflow",
    "role",
    "note",
    "head",
    "include_ended",
    "as_json",
}


def test_every_command_is_defined_by_the_module_the_table_names() -> None:
    commands = cli.load_all()
    assert sorted(commands) == sorted(COMMANDS)
    for name, command in commands.items():
        assert command.callback is not None
        assert command.callback.__module__ == f"followup.cli.{COMMANDS[name]}", name


def test_every_command_has_help() -> None:
    def walk(group: click.Group, path: str) -> list[tuple[str, click.Command]]:
        out = []
        for name, command in group.commands.items():
            out.append((f"{path} {name}", command))
            if isinstance(command, click.Group):
                out.extend(walk(command, f"{path} {name}"))
        return out

    cli.load_all()
    commands = walk(cli, "followup")
    assert len(commands) >= 25
    for name, command in commands:
        assert command.help and command.help.strip(), f"{name} has no help text"
        for param in command.params:
            if isinstance(param, click.Option) and param.name not in ("help",):
                assert (
                    param.help
                    or param.is_flag
                    or param.type is not click.STRING
                    or param.name in _SELF_EXPLAINING
                ), f"{name} --{param.name} has no help"
