"""Where followup finds what it ships: the ``workflows``, ``notifications`` and ``chains`` folders."""

from __future__ import annotations

from pathlib import Path


def shipped_dir(name: str) -> Path:
    """A folder shipped with followup (``workflows`` or ``notifications``).

    In a wheel they are packaged as ``followup/_shipped/<name>``; in a source checkout (editable
    install) they are the repository's top-level folders.
    """
    here = Path(__file__).resolve().parent
    packaged = here / "_shipped" / name
    if packaged.is_dir():
        return packaged
    return here.parents[1] / name
