"""YAML as plain data plus the line of every node, so that an error can name its line.

Only plain YAML is read: no anchors or aliases (a "billion laughs" file expands to gigabytes, a
recursive alias never ends), no tags (``!tag``, ``!!python/...``), at most :data:`MAX_DEPTH` levels of
nesting and :data:`MAX_BYTES` bytes. :func:`plain_problem` finds the first offence from the parser's
events, before any node is built, so a hostile file is refused in milliseconds.
"""

from __future__ import annotations

from typing import Any

import yaml

from followup.errors import WorkflowError
from followup.i18n import _

#: Where a node is: keys and list indexes from the top, e.g. ("stages", 2, "limit").
Path_ = tuple[str | int, ...]

#: A workflow or calendar file is a few kilobytes; these bound what a broken or hostile one costs.
MAX_BYTES = 256 * 1024
MAX_DEPTH = 16

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
    return out or _("(top)")


def plain_problem(text: str) -> tuple[int | None, str] | None:
    """The first thing in ``text`` that plain YAML does not need, as (line, what is wrong): an anchor,
    an alias, a tag, nesting deeper than MAX_DEPTH, more than MAX_BYTES; None when there is none. A
    syntax error is left for the caller's parse to report."""
    if len(text) > MAX_BYTES:  # characters; a Chinese file's bytes are checked when it is read
        return None, _("the file is larger than {size} KiB").format(size=MAX_BYTES // 1024)
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            line = event.start_mark.line + 1 if event.start_mark else None
            if isinstance(event, yaml.AliasEvent):
                return line, _("alias *{anchor}: aliases are not allowed; write the value out").format(
                    anchor=event.anchor
                )
            anchor, tag = getattr(event, "anchor", None), getattr(event, "tag", None)
            if anchor is not None:
                return line, _(
                    "anchor &{anchor}: anchors and aliases are not allowed; write the value out"
                ).format(anchor=anchor)
            if tag is not None:
                return line, _("tag {tag}: tags are not allowed; write plain values").format(tag=tag)
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    return line, _("nested deeper than {depth} levels").format(depth=MAX_DEPTH)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return None
    return None


def compose(text: str, file: str) -> Loaded:
    """Parse ``text`` (plain, safe YAML); a syntax error, a duplicate key or anything
    :func:`plain_problem` finds is a WorkflowError with its line."""
    loader_cls = _LOADER
    found = plain_problem(text)
    if found is not None:
        line, problem = found
        raise WorkflowError(_("bad YAML: {problem}").format(problem=problem), file=file, line=line)
    try:
        node = yaml.compose(text, Loader=loader_cls)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        # PyYAML's own words (English)
        raise WorkflowError(
            _("bad YAML: {problem}").format(problem=exc.problem or exc), file=file, line=line
        ) from None
    except yaml.YAMLError as exc:
        raise WorkflowError(_("bad YAML: {problem}").format(problem=exc), file=file) from None
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
                    raise WorkflowError(_("a key must be a plain name"), file=file, key=fmt(path), line=where)
                key = key_node.value
                if key in out:
                    raise WorkflowError(
                        _("duplicate key {key!r}").format(key=key),
                        file=file,
                        key=fmt((*path, key)),
                        line=where,
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
