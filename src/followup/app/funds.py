"""Money in place (资金到位): ``followup funds ID --amount 万元 --on DATE --by OFFICIAL``.

Each call records money that has newly arrived: it is added to the project's ``funds_in_place`` and the
history keeps the line (kind ``funds``, ``{"funds_in_place": [before, after]}``, at the day it arrived),
so that 资金到位率 can be reconstructed as of any date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from followup.app import records
from followup.app.runtime import Runtime
from followup.app.views import View
from followup.domain import validate, words
from followup.domain.kinds import EventKind
from followup.domain.timeutil import in_zone
from followup.domain.workflow import TERMINATED
from followup.errors import InvalidInput
from followup.i18n import _


@dataclass(frozen=True)
class FundsRecorded(View):
    project_id: int
    name: str
    arrived: Decimal
    on: datetime
    before: Decimal
    after: Decimal
    amount: Decimal | None  # the contracted amount (合同金额), for the share in place


def record_funds(
    rt: Runtime, project_id: int, *, amount: str, on: datetime | None, by: str, note: str | None = None
) -> FundsRecorded:
    """Add ``amount`` (万元 as typed: 500, 1,200, 0.5亿) of newly arrived money to the project's funds in
    place, as of ``on`` (default now; never in the future). A voided or terminated project takes none."""
    now = rt.now()
    arrived = words.amount(amount, _("amount"))
    if arrived <= 0:
        raise InvalidInput(
            _("bad amount {value}: the money that arrived must be more than 0").format(
                value=validate.shown(amount)
            )
        )
    note = validate.note(note) if note else None
    on = on or now
    with rt.store.transaction() as session:
        row = records.project(session, project_id, lock=True)  # a voided one is refused here
        if row.stage == TERMINATED:
            raise InvalidInput(_("project {id} is terminated: it takes no more funds").format(id=project_id))
        actor = records.official(session, by, what=_("--by official"))
        records.check_when(rt, on, now, None, "--on")
        before = row.funds_in_place or Decimal(0)
        after = validate.decimal(str(before + arrived), _("funds in place"))
        changes = {"funds_in_place": [records.shown(row.funds_in_place), records.shown(after)]}
        row.funds_in_place = after
        row.updated_at = now
        records.record_event(
            rt, session, row, EventKind.FUNDS, at=on, now=now, by=actor, note=note, changes=changes
        )
        session.flush()
        return FundsRecorded(row.id, row.name, arrived, in_zone(on, rt.zone), before, after, row.amount)
