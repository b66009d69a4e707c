"""The use cases, by subject, over one explicit :class:`~followup.app.runtime.Runtime`.

organisation (units, officials) · ledger (projects: add, edit, list, show, history) · moves (stage
moves, hold, resume, terminate, follow-ups, extensions) · escalation (sweep, digest) · delivery (send) · board
(the status board and the outbox) · letters (outbox rows → messages) · demo (a demo county).

Each use case runs in one transaction: it checks everything first and writes nothing when anything is
wrong. The shells (CLI, daemon) call these and nothing below them.
"""
