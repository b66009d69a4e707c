"""How a stored value reads on any screen — the CLI's tables, the web's pages, the report's files —
without what each screen adds (a terminal's width, a page's markup)."""

from __future__ import annotations

from decimal import Decimal


def amount_text(value: Decimal) -> str:
    """An amount (万元) or an area (亩) as a county reads it: ``12,000``, ``12,000.50``."""
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
