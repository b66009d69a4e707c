"""Evidence (以图为证): attachments to follow-ups, stage moves and problems' closing (being built)."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

from followup.app.access import Viewer
from followup.app.runtime import Runtime

ROUTES: list[BaseRoute] = []


def project_part(rt: Runtime, viewer: Viewer, project_id: int) -> dict[str, Any]:
    """What this part adds to the project page's context (its template reads it)."""
    return {}
