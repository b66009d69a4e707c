"""The project fields (台账 columns) a workflow may name.

Shared by workflow validation (``requires``, ``records``, ``contract_deadline``), the ledger use cases
(``--set FIELD=VALUE``, ``project edit``) and the CLI's options, so that all accept the same names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldKind = Literal["text", "amount", "area", "date", "official"]


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: FieldKind
    hint: str = ""  # shown in the CLI's help after the label


PROJECT_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("investor", "投资方", "text"),
        FieldSpec("investor_contact", "投资方联系人", "text"),
        FieldSpec("amount", "合同金额（万元）", "amount"),
        FieldSpec("funds_in_place", "到位资金（万元）", "amount"),
        FieldSpec("chain", "产业链", "text"),
        FieldSpec("land", "用地（亩）", "area"),
        FieldSpec("source", "信息来源", "text"),
        FieldSpec("leader", "包联领导", "official", "an official with role leader"),
        FieldSpec("signed_on", "签约日期", "date"),
        FieldSpec(
            "contract_start", "合同约定开工日期", "date", "replaces the stage limit where the workflow says"
        ),
        FieldSpec(
            "contract_production",
            "合同约定投产日期",
            "date",
            "replaces the stage limit where the workflow says",
        ),
        FieldSpec("started_on", "实际开工日期", "date"),
        FieldSpec("production_on", "实际投产日期", "date"),
    )
}

DATE_FIELDS = tuple(name for name, spec in PROJECT_FIELDS.items() if spec.kind == "date")
