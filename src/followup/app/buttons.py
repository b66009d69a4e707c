"""A mail's buttons (按钮): when the web app has a public address (``FOLLOWUP_WEB_URL``), every warning,
notice and weekly mail carries signed links for its reader instead of shell commands.

Each link is made when the mail goes out, for that recipient and that project (``access.action_url``:
valid ``link_days``), and opens the project's page signed in for that project only. Which buttons a
reader gets follows their role for the project, as the web app's rules (``access.may``) let them act:

- case officer and unit head: 记录进展, 申请延期 (while a deadline runs), 查看项目;
- leader in charge: 查看项目, 记录进展, 申请延期 (the form lets them extend or approve);
- supervision office and principal leaders: 查看项目;
- and whoever may reply to a 督办 notice still awaiting its written reply (the responsible unit, the
  leader in charge): 回复督办;
- a unit behind in a reporting round (调度未报; its head, the supervision office): 填报进展 for each
  project not reported yet, opening that project's report form.

Without a public address every function here gives nothing, and the mails keep their commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from followup.app import access
from followup.domain.kinds import Role
from followup.settings import Settings

VIEW, LOG, EXTEND, REPLY, REPORT = "查看项目", "记录进展", "申请延期", "回复督办", "填报进展"
#: who acts on a project (may record progress, ask for more time, reply to a notice)
ACTING = (Role.CASE_OFFICER, Role.UNIT_HEAD, Role.LEADER)


@dataclass(frozen=True)
class Links:
    """The links of one mail: its reader (an official's id) and the moment it goes out."""

    settings: Settings
    reader: int
    now: datetime

    @staticmethod
    def of(settings: Settings, reader: int, now: datetime) -> Links | None:
        """The reader's links, or None when the web app has no public address."""
        return Links(settings, reader, now) if settings.web_url else None

    def button(self, label: str, project_id: int, action: str) -> dict[str, str]:
        """``{label, url, action}``: a signed link opening ``project_id`` at ``action``'s form."""
        url = access.action_url(self.settings, self.reader, project_id, action, self.now)
        assert url is not None  # Links exist only with a public address
        return {"label": label, "url": url, "action": action}


def for_block(links: Links | None, project: dict[str, Any], role: str) -> list[dict[str, str]]:
    """The buttons of a warning's block (``app.blocks``) about ``project`` for a reader as ``role``."""
    if links is None:
        return []
    pid = project["id"]
    running = bool(project.get("deadline")) and not project.get("held")
    acts: list[tuple[str, str]]
    if role in (Role.CASE_OFFICER, Role.UNIT_HEAD):
        acts = [(LOG, "log"), *([(EXTEND, "extend")] if running else []), (VIEW, "view")]
    elif role == Role.LEADER:
        acts = [(VIEW, "view"), (LOG, "log"), *([(EXTEND, "extend")] if running else [])]
    else:
        acts = [(VIEW, "view")]
    notice = project.get("notice")
    if notice and not notice.get("replied_on") and role in ACTING:
        acts.insert(len(acts) - 1 if acts[-1][1] == "view" else len(acts), (REPLY, "reply"))
    return [links.button(label, pid, action) for label, action in acts]


def for_item(links: Links | None, item: dict[str, Any]) -> list[dict[str, str]]:
    """The buttons of an overdue supervision item (``app.supervision_mail``): a notice awaiting its
    reply — 回复督办 for who may give it —, a problem's project — 查看项目, where it is closed —, a round
    (调度) a unit is behind in — 填报进展 for each project it has not reported (its name in the label)."""
    if links is None:
        return []
    if item["kind"] == "round" and item.get("round"):
        return [links.button(f"{REPORT}·{p['name']}", p["id"], "report") for p in item["round"]["missing"]]
    if item.get("project") is None:
        return []
    pid = item["project"]["id"]
    found = []
    if item["kind"] == "reply" and item["role"] in ACTING:
        found.append(links.button(REPLY, pid, "reply"))
    found.append(links.button(VIEW, pid, "view"))
    return found


def view(links: Links | None, project_id: int) -> list[dict[str, str]]:
    """Only 查看项目 (a stranded project, for the supervision office)."""
    return [] if links is None else [links.button(VIEW, project_id, "view")]


def for_projects(
    links: Links | None, acting: list[dict[str, Any]], reading: list[dict[str, Any]]
) -> dict[int, dict[str, str]]:
    """The weekly mail's links by project id: ``{view, log}`` for the reader's own projects
    (``acting``), ``{view}`` for the county summary's others (``reading``)."""
    if links is None:
        return {}
    out: dict[int, dict[str, str]] = {}
    for p in reading:
        out[p["id"]] = {"view": links.button(VIEW, p["id"], "view")["url"]}
    for p in acting:
        out[p["id"]] = {
            "view": links.button(VIEW, p["id"], "view")["url"],
            "log": links.button(LOG, p["id"], "log")["url"],
        }
    return out
