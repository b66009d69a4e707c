"""Finding and loading workflow files: the shipped ones and a county's own folder."""

from __future__ import annotations

from pathlib import Path

from followup.domain.workflow import Workflow
from followup.errors import UnknownWorkflow, WorkflowError
from followup.lifecycle.checker import check_workflow
from followup.lifecycle.yamlfile import compose
from followup.paths import shipped_dir


def parse_workflow(text: str, file: str, *, expected_name: str | None = None) -> Workflow:
    """Parse and validate workflow YAML text; ``file`` names it in errors."""
    return check_workflow(compose(text, file), file, expected_name)


def load_workflow_file(path: Path) -> Workflow:
    """Load and validate one workflow file; its ``name`` must match the file name."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkflowError("no such file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowError(f"cannot read: {exc}", file=str(path)) from None
    return parse_workflow(text, str(path), expected_name=path.stem)


class WorkflowRegistry:
    """The workflows a county can use: the shipped ones and those in its own folder, loaded lazily."""

    def __init__(self, county_dir: Path | None = None) -> None:
        self.dirs = [shipped_dir("workflows")]
        if county_dir is not None:
            self.dirs.append(county_dir)
        self._cache: dict[str, Workflow] = {}

    def paths(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for folder in self.dirs:  # later folders (the county's) win
            if folder.is_dir():
                for path in sorted(folder.glob("*.yaml")):
                    found[path.stem] = path
        return found

    def names(self) -> list[str]:
        return sorted(self.paths())

    def get(self, name: str) -> Workflow:
        if name not in self._cache:
            path = None
            for folder in reversed(self.dirs):
                candidate = folder / f"{name}.yaml"
                if candidate.is_file():
                    path = candidate
                    break
            if path is None:
                raise UnknownWorkflow(
                    f"no workflow named {name!r}; known: {', '.join(self.names()) or 'none'}"
                )
            self._cache[name] = load_workflow_file(path)
        return self._cache[name]

    def all_states(self) -> set[str]:
        """Every stage and side state of every workflow (a filter may name any of them)."""
        return {state for name in self.names() for state in self.get(name).states()}
