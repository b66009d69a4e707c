"""The project fields (台账 columns) a workflow may name.

Shared by workflow validation (``requires``, ``records``, ``contract_deadline``), the ledger use cases
(``--set FIELD=VALUE``, ``project edit``) and the CLI's options, so that all accept the same names. A
user may name a field by its key, its label (with or without the unit: 合同金额（万元）, 合同金额) or one
of its short aliases (金额): :func:`followup.domain.words.field_key`. The README lists them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

FieldKind = Literal["text", "amount", "area", "date", "official"]


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: FieldKind
    hint: str = ""  # shown in the CLI's help after the label
    aliases: tuple[str, ...] = ()  # short names a county uses (--set 金额=…)

    @property
    def short(self) -> str:
        """The label without its unit: 合同金额 for 合同金额（万元）, what a hint suggests typing."""
        return re.sub(r"[（(][^（(]*[)）]$", "", self.label)


PROJECT_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("investor", "投资方", "text", aliases=("投资商",)),
        FieldSpec("investor_contact", "投资方联系人", "text", aliases=("联系人",)),
        FieldSpec("amount", "合同金额（万元）", "amount", aliases=("金额", "投资额")),
        FieldSpec("funds_in_place", "到位资金（万元）", "amount", aliases=("到位",)),
        FieldSpec(
            "code", "项目编号", "text", "the county's own number; a re-imported ledger is matched by it"
        ),
        FieldSpec("chain", "产业链", "text", aliases=("产业",)),
        FieldSpec(
            "chain_link", "产业链环节", "text", "a link of the chain map (`followup chains`)", ("环节",)
        ),
        FieldSpec("land", "用地（亩）", "area", aliases=("亩数",)),
        FieldSpec("source", "信息来源", "text", aliases=("来源",)),
        FieldSpec("leader", "包联领导", "official", "an official with role leader", aliases=("包抓领导",)),
        FieldSpec("signed_on", "签约日期", "date"),
        FieldSpec(
            "contract_start",
            "合同约定开工日期",
            "date",
            "replaces the stage limit where the workflow says",
            aliases=("约定开工",),
        ),
        FieldSpec(
            "contract_production",
            "合同约定投产日期",
            "date",
            "replaces the stage limit where the workflow says",
            aliases=("约定投产",),
        ),
        FieldSpec("started_on", "实际开工日期", "date", aliases=("开工日期",)),
        FieldSpec("production_on", "实际投产日期", "date", aliases=("投产日期",)),
        FieldSpec("remarks", "备注", "text"),
    )
}

DATE_FIELDS = tuple(name for name, spec in PROJECT_FIELDS.items() if spec.kind == "date")
