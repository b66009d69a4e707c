"""Finding and loading workflow files: the shipped ones and a county's own folder."""

from __future__ import annotations

from pathlib import Path

from followup.domain.validate import is_workflow_name
from followup.domain.workflow import Workflow
from followup.errors import UnknownWorkflow, WorkflowError
from followup.i18n import _
from followup.lifecycle.checker import check_workflow
from followup.lifecycle.yamlfile import MAX_BYTES, compose
from followup.paths import shipped_dir


def parse_workflow(text: str, file: str, *, expected_name: str | None = None) -> Workflow:
    """Parse and validate workflow YAML text; ``file`` names it in errors."""
    return check_workflow(compose(text, file), file, expected_name)


#: Workflows already checked in this process, by file and its size and modification time: a Workflow is
#: frozen (its machine shared), so every registry may hand out the same one until the file changes.
_checked: dict[tuple[str, int, int], Workflow] = {}


def load_workflow_file(path: Path) -> Workflow:
    """Load and validate one workflow file; its ``name`` must match the file name."""
    try:
        seen = path.stat()
        if seen.st_size > MAX_BYTES:  # before reading it: a file of gigabytes is refused at once
            raise WorkflowError(
                _("the file is larger than {size} KiB").format(size=MAX_BYTES // 1024), file=str(path)
            )
        key = (str(path), seen.st_size, seen.st_mtime_ns)
        if key in _checked:
            return _checked[key]
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkflowError(_("no such file"), file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowError(_("cannot read: {reason}").format(reason=exc), file=str(path)) from None
    workflow = _checked[key] = parse_workflow(text, str(path), expected_name=path.stem)
    return workflow


class WorkflowRegistry:
    """The workflows a county can use: the shipped ones and those in its own folder, loaded lazily.

    A name is a plain key (``[a-z][a-z0-9_]*``), never joined into a path otherwise. A workflow that
    cannot be loaded (its file missing, renamed or broken) fails only the projects that use it: the
    failure is remembered (until :meth:`forget_failures`), so a sweep over thousands of its projects
    reads the file once, and :meth:`problem` lets a caller skip those projects instead of stopping.
    """

    def __init__(self, county_dir: Path | None = None) -> None:
        self.dirs = [shipped_dir("workflows")]
        if county_dir is not None:
            self.dirs.append(county_dir)
        self._cache: dict[str, Workflow] = {}
        self._failed: dict[str, WorkflowError] = {}

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
        """The workflow named ``name``, or the WorkflowError that says why it cannot be loaded."""
        found = self._cache.get(name)
        if found is not None:
            return found
        failed = self._failed.get(name)
        if failed is not None:
            raise failed.with_traceback(None)  # not a traceback that grows with every raise
        try:
            self._cache[name] = self._load(name)
        except WorkflowError as exc:
            self._failed[name] = exc
            raise
        return self._cache[name]

    def _load(self, name: str) -> Workflow:
        if not is_workflow_name(name):
            raise UnknownWorkflow(
                _(
                    "bad workflow name {name!r}: a workflow is named by lower-case letters, digits and _ "
                    "(e.g. investment); known: {known}"
                ).format(name=name, known=self._known())
            )
        for folder in reversed(self.dirs):
            candidate = folder / f"{name}.yaml"
            if candidate.is_file():
                return load_workflow_file(candidate)
        raise UnknownWorkflow(
            _("no workflow named {name!r}; known: {known}").format(name=name, known=self._known())
        )

    def _known(self) -> str:
        return ", ".join(self.names()) or _("none")

    def forget_failures(self) -> None:
        """Try the workflows that failed again on next use (a long-lived process: the county may have
        repaired the file since)."""
        self._failed.clear()

    def problem(self, name: str) -> WorkflowError | None:
        """Why the workflow ``name`` cannot be loaded, or None when it can."""
        try:
            self.get(name)
        except WorkflowError as exc:
            return exc
        return None

    def all_states(self) -> set[str]:
        """Every stage and side state of every workflow that loads (a filter may name any of them)."""
        return {state for name in self.names() if not self.problem(name) for state in self.get(name).states()}
