"""The package's layers, read from its imports (every ``import``, at the top or inside a function).

From the bottom: errors · settings and paths · domain (pure rules) · lifecycle, store, mail (files, the
database, mail) · app (the use cases) · the shells (cli, daemon). A module may import its own package and
any lower layer, never a higher one; modules of one middle layer do not import each other's packages.
Only the shells import click, APScheduler or a web framework.
"""

from __future__ import annotations

import ast
from pathlib import Path

import followup

LAYERS: list[tuple[str, ...]] = [
    ("followup.errors", "followup.i18n"),
    ("followup", "followup.settings", "followup.paths"),
    ("followup.domain",),
    ("followup.lifecycle", "followup.store", "followup.mail", "followup.chat"),
    ("followup.app",),
    ("followup.cli", "followup.daemon", "followup.web"),
]
SHELL_ONLY = {
    "click": ("followup.cli",),
    "apscheduler": ("followup.daemon",),
    "starlette": ("followup.web",),
    "fastapi": ("followup.web",),
    "uvicorn": ("followup.web", "followup.cli"),
}


def package_of(module: str) -> str:
    """The layer entry a module belongs to: the longest declared prefix."""
    best = ""
    for layer in LAYERS:
        for name in layer:
            if (module == name or module.startswith(name + ".")) and len(name) > len(best):
                best = name
    if not best:
        raise AssertionError(f"{module} is in no layer: declare it in LAYERS")
    return best


def layer_of(module: str) -> int:
    package = package_of(module)
    return next(i for i, layer in enumerate(LAYERS) if package in layer)


def imports(source: str, module: str) -> set[str]:
    """Every module ``source`` imports (relative imports resolved against ``module``)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.rsplit(".", node.level)[0]
                base = f"{parent}.{base}" if base else parent
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names if base.startswith("followup"))
    return out


def violations(sources: dict[str, str], known: set[str]) -> list[str]:
    """What breaks the layering, one line each; ``known`` are the package's module names."""
    found: list[str] = []
    shells = len(LAYERS) - 1
    for module, source in sorted(sources.items()):
        mine, package = layer_of(module), package_of(module)
        for target in sorted(imports(source, module)):
            top = target.split(".")[0]
            if top in SHELL_ONLY and not any(
                module == s or module.startswith(s + ".") for s in SHELL_ONLY[top]
            ):
                found.append(f"{module} imports {target}: only {', '.join(SHELL_ONLY[top])} may")
            if top != "followup" or target not in known:
                continue
            theirs, their_package = layer_of(target), package_of(target)
            if theirs > mine:
                found.append(f"{module} (layer {mine}) imports {target} (layer {theirs})")
            elif theirs == mine and their_package != package and mine not in (0, 1, shells):
                found.append(f"{module} imports {target}, a sibling package of the same layer")
    return found


def package_sources() -> dict[str, str]:
    root = Path(followup.__file__).parent
    out = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path.read_text(encoding="utf-8")
    return out


def test_the_package_keeps_its_layers() -> None:
    sources = package_sources()
    assert "followup.app.runtime" in sources and "followup.cli.root" in sources
    assert violations(sources, set(sources)) == []


def test_the_check_catches_an_upward_import_a_shell_library_and_a_sibling() -> None:
    known = {"followup.domain.ladder", "followup.app.ledger", "followup.store.db", "followup.mail.templates"}
    sources = {
        "followup.domain.ladder": "from followup.app.ledger import add_project\n",
        "followup.store.db": "def f():\n    import click\n    from followup.mail import templates\n",
        "followup.app.ledger": "from followup.domain import ladder\nfrom followup.store.db import Store\n",
        "followup.mail.templates": "import jinja2\n",
    }
    assert violations(sources, known | {"followup.mail"}) == [
        "followup.domain.ladder (layer 2) imports followup.app.ledger (layer 4)",
        "followup.store.db imports click: only followup.cli may",
        "followup.store.db imports followup.mail, a sibling package of the same layer",
        "followup.store.db imports followup.mail.templates, a sibling package of the same layer",
    ]


def test_every_module_is_in_a_layer() -> None:
    for module in package_sources():
        layer_of(module)
