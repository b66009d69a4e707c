"""Who a ladder level reaches: the roles of a project's people, resolved to officials."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from followup.domain.kinds import Role


@dataclass(frozen=True)
class Roster:
    """Who holds which role, as ids: loaded once per sweep (a county has hundreds of officials)."""

    active: frozenset[int]
    heads: Mapping[int, Sequence[int]]  # unit id -> its heads
    holders: Mapping[str, Sequence[int]]  # held role -> its holders

    def resolve(
        self, roles: Iterable[str], officer_id: int, unit_id: int, leader_id: int | None
    ) -> list[tuple[str, int]]:
        """(role, official id) for each person the roles reach on a project, each person once, active
        officials only."""
        out: list[tuple[str, int]] = []
        seen: set[int] = set()
        for role in roles:
            if role == Role.CASE_OFFICER:
                people: Sequence[int] = [officer_id]
            elif role == Role.UNIT_HEAD:
                people = self.heads.get(unit_id, [])
            elif role == Role.LEADER:
                people = [leader_id] if leader_id is not None else []
            else:
                people = self.holders.get(role, [])
            for person in people:
                if person in self.active and person not in seen:
                    seen.add(person)
                    out.append((role, person))
        return out
