"""The industry-chain map (产业链图谱): the county's chains, each with its links upstream (上游),
midstream (中游) and downstream (下游). Pure data: ``lifecycle.chains`` reads it from YAML.

A project is tied to the map when its ``chain_link`` (产业链环节) is a link of its ``chain`` (产业链);
a project without a chain but with a link that only one chain has is tied to that chain.
"""

from __future__ import annotations

from dataclasses import dataclass

from followup.i18n import N_, _

#: The positions of a link along its chain, in order.
POSITIONS = ("upstream", "midstream", "downstream")
_POSITION_LABELS = {"upstream": N_("upstream"), "midstream": N_("midstream"), "downstream": N_("downstream")}


def position_label(position: str) -> str:
    """上游/中游/下游 (in the user's language)."""
    return _(_POSITION_LABELS.get(position, position))


@dataclass(frozen=True)
class Link:
    name: str
    position: str  # one of POSITIONS


@dataclass(frozen=True)
class Chain:
    name: str
    links: tuple[Link, ...]
    description: str | None = None

    def link(self, name: str) -> Link | None:
        return next((k for k in self.links if k.name == name), None)


@dataclass(frozen=True)
class ChainMap:
    chains: tuple[Chain, ...]
    source: str = ""  # the file it was read from

    def chain(self, name: str) -> Chain | None:
        return next((c for c in self.chains if c.name == name), None)

    def place(self, chain: str | None, link: str | None) -> tuple[Chain, Link] | None:
        """Where a project with ``chain`` and ``link`` sits on the map, or None (not tied to it)."""
        if not link:
            return None
        index = self._index()
        return index.get((chain, link)) if chain else index.get((None, link))

    def _index(self) -> dict[tuple[str | None, str], tuple[Chain, Link]]:
        found: dict[tuple[str | None, str], tuple[Chain, Link]] | None = self.__dict__.get("_places")
        if found is None:
            found = {(c.name, k.name): (c, k) for c in self.chains for k in c.links}
            for (_chain, name), hit in list(found.items()):
                alone = [h for (_c, n), h in found.items() if n == name and _c is not None]
                if len(alone) == 1:
                    found[None, name] = hit
            object.__setattr__(self, "_places", found)
        return found

    def knows(self, chain: str | None, link: str | None) -> bool:
        return self.place(chain, link) is not None


EMPTY_MAP = ChainMap(())
