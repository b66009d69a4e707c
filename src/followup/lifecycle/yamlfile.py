"""YAML as plain data plus the line of every node, so that an error can name its line."""

from __future__ import annotations

from typing import Any

import yaml

from followup.errors import WorkflowError

#: Where a node is: keys and list indexes from the top, e.g. ("stages", 2, "limit").
Path_ = tuple[str | int, ...]


class Loaded:
    """A YAML document as plain data plus the line of every node, by path."""

    def __init__(self, data: Any, lines: dict[Path_, int]) -> None:
        self.data = data
        self.lines = lines

    def line_of(self, path: Path_) -> int | None:
        """The line of ``path``, else of its nearest ancestor that has one."""
        probe = path
        while probe:
            line = self.lines.get(probe)
            if line is not None:
                return line
            probe = probe[:-1]
        return self.lines.get(())


def fmt(path: Path_) -> str:
    """``stages[2].limit`` for ("stages", 2, "limit"); ``(top)`` for the document itself."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


def compose(text: str, file: str) -> Loaded:
    """Parse ``text`` (safe YAML); a syntax error or a duplicate key is a WorkflowError with its line."""
    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        node = yaml.compose(text, Loader=loader_cls)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise WorkflowError(f"bad YAML: {exc.problem or exc}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise WorkflowError(f"bad YAML: {exc}", file=file) from None
    lines: dict[Path_, int] = {}
    if node is None:
        return Loaded(None, lines)
    constructor = loader_cls("")

    def build(n: yaml.Node, path: Path_) -> Any:
        lines[path] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in n.value:
                where = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    raise WorkflowError("a key must be a plain name", file=file, key=fmt(path), line=where)
                key = key_node.value
                if key in out:
                    raise WorkflowError(
                        f"duplicate key {key!r}", file=file, key=fmt((*path, key)), line=where
                    )
                out[key] = build(value_node, (*path, key))
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(item, (*path, i)) for i, item in enumerate(n.value)]
        # Scalars: let PyYAML's safe constructor resolve ints, bools, dates, null.
        if n.tag == "tag:yaml.org,2002:str":
            return n.value
        return constructor.construct_object(n, deep=True)

    return Loaded(build(node, ()), lines)
