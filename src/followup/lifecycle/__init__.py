"""Workflow files: read a lifecycle from YAML, check it, and find the ones a county can use.

``load_workflow_file``/``parse_workflow`` turn a file into a checked
:class:`~followup.domain.workflow.Workflow` or raise a ``WorkflowError`` naming the file, the line, the
key and what is allowed; :class:`WorkflowRegistry` finds the shipped workflows and a county's own.
"""

from followup.lifecycle.registry import WorkflowRegistry, load_workflow_file, parse_workflow

__all__ = ["WorkflowRegistry", "load_workflow_file", "parse_workflow"]
