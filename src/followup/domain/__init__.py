"""The rules of followup as pure code: no database, no files, no shell.

kinds (the closed name sets) · timeutil (UTC in, the configured zone out) · calendar (China's working
days) · limits (spans of time) · fields (the ledger's fields) · validate (what users type) · workflow
(a lifecycle and its moves) · deadlines (when a stage is due) · notices (a notification's identity) ·
ladder (the warning ladder as a function of a project and ``now``).
"""
