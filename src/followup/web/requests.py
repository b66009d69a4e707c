"""Extension and hold requests (申请延期, 申请暂缓) and their approval (审批) (being built)."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

from followup.app.access import Viewer
from followup.app.runtime import Runtime

ROUTES: list[BaseRoute] = []


def project_part(rt: Runtime, viewer: Viewer, project_id: int) -> dict[str, Any]:
    """What this part adds to the project page's context (its template reads it)."""
    return {}
