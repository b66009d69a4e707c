"""The ``followup`` command: a thin shell over the use cases in :mod:`followup.app`.

A package by subject, as rq's ``rq/cli``: ``root`` holds the group, what commands share and ``main``
(the one place that maps errors to exit codes); each other module registers its commands on the group
and is imported when one of its commands runs (``root.COMMANDS``). Every option can also come from the
environment variable named in its help.
"""

from followup.cli.root import cli, main

__all__ = ["cli", "main"]
