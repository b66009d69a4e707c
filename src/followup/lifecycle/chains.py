"""The industry-chain map file (产业链图谱): read a YAML map of chains and links, check it, and build
the :class:`~followup.domain.chains.ChainMap`, or raise the first error naming the file, the line, the
key and what is allowed (as the workflow checker does).

The shipped map is ``chains/default.yaml``; a county's own is FOLLOWUP_CHAINS_FILE::

    chains:
      - name: 乳品加工
        description: 奶源、乳制品与流通      # optional
        upstream: [奶牛养殖, 饲草料]
        midstream: [液态奶, 乳粉]
        downstream: [冷链物流, 电商销售]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from followup.domain.chains import POSITIONS, Chain, ChainMap, Link
from followup.domain.validate import text_problem
from followup.errors import WorkflowError
from followup.i18n import _
from followup.lifecycle.checker import Checker
from followup.lifecycle.yamlfile import MAX_BYTES, Path_, compose
from followup.paths import shipped_dir

TOP_KEYS = ("chains",)
CHAIN_KEYS = ("name", "description", *POSITIONS)
MAX_NAME = 100
#: The shipped map's file name in the shipped ``chains`` folder.
DEFAULT_FILE = "default.yaml"


def default_chains_file() -> Path:
    return shipped_dir("chains") / DEFAULT_FILE


def load_chain_map(path: Path | str | None = None) -> ChainMap:
    """The map in ``path`` (None: the shipped default)."""
    file = Path(path) if path is not None else default_chains_file()
    try:
        if file.stat().st_size > MAX_BYTES:
            raise WorkflowError(
                _("the file is larger than {size} KiB").format(size=MAX_BYTES // 1024), file=str(file)
            )
        content = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowError(
            _("cannot read the chain map: {problem}").format(problem=str(exc).splitlines()[0]), file=str(file)
        ) from None
    return parse_chain_map(content, str(file))


def parse_chain_map(content: str, file: str) -> ChainMap:
    loaded = compose(content, file)
    return _Check(loaded, file).map()


class _Check(Checker):
    """The workflow checker's values (mapping, fail with file and line), and a chain map's own."""

    def name(self, value: Any, path: Path_) -> str:
        if not isinstance(value, (str, int)) or not str(value).strip():
            raise self.fail(path, _("expected a non-empty name"))
        text = str(value).strip()
        problem = text_problem(text)
        if problem:
            raise self.fail(path, _("a name {problem}: {value!r}").format(problem=problem, value=text[:60]))
        if len(text) > MAX_NAME:
            raise self.fail(path, _("a name is at most {most} characters").format(most=MAX_NAME))
        return text

    def map(self) -> ChainMap:
        top = self.mapping(self.loaded.data, (), TOP_KEYS)
        raw = top.get("chains")
        if not isinstance(raw, list) or not raw:
            raise self.fail(
                ("chains",), _("expected a list of chains (name, upstream, midstream, downstream)")
            )
        chains: list[Chain] = []
        seen: set[str] = set()
        for i, item in enumerate(raw):
            where: Path_ = ("chains", i)
            entry = self.mapping(item, where, CHAIN_KEYS)
            if "name" not in entry:
                raise self.fail(where, _("missing {key!r}").format(key="name"))
            name = self.name(entry["name"], (*where, "name"))
            if name in seen:
                raise self.fail((*where, "name"), _("duplicate chain {name!r}").format(name=name))
            seen.add(name)
            description = entry.get("description")
            if description is not None:
                description = self.name(description, (*where, "description"))
            links: list[Link] = []
            names: set[str] = set()
            for position in POSITIONS:
                values = entry.get(position, [])
                if values is None:
                    values = []
                if not isinstance(values, list):
                    raise self.fail(
                        (*where, position), _("expected a list of links, e.g. [奶牛养殖, 饲草料]")
                    )
                for j, value in enumerate(values):
                    link = self.name(value, (*where, position, j))
                    if link in names:
                        raise self.fail(
                            (*where, position, j),
                            _("link {link!r} is twice in chain {chain!r}").format(link=link, chain=name),
                        )
                    names.add(link)
                    links.append(Link(link, position))
            if not links:
                raise self.fail(
                    where,
                    _("chain {name!r} has no link: give upstream, midstream or downstream").format(name=name),
                )
            chains.append(Chain(name, tuple(links), description))
        return ChainMap(tuple(chains), self.file)
