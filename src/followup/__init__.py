"""followup: keeps a county's investment projects (招商引资项目) from stalling.

The public API is re-exported here; the CLI (``followup.cli``) is a thin shell over it.
"""

from followup.errors import (
    ConcurrentUpdate,
    ConfigError,
    Conflict,
    DeliveryError,
    DuplicateKey,
    FollowupError,
    GuardFailed,
    InvalidInput,
    MoveRefused,
    NotFound,
    NotInitialised,
    StillReferenced,
    StoreError,
    UnknownOfficial,
    UnknownProject,
    UnknownUnit,
    UnknownWorkflow,
    WorkflowError,
)
from followup.settings import Settings, load_settings

__version__ = "0.1.0"

__all__ = [
    "ConcurrentUpdate",
    "ConfigError",
    "Conflict",
    "DeliveryError",
    "DuplicateKey",
    "FollowupError",
    "GuardFailed",
    "InvalidInput",
    "MoveRefused",
    "NotFound",
    "NotInitialised",
    "Settings",
    "StillReferenced",
    "StoreError",
    "UnknownOfficial",
    "UnknownProject",
    "UnknownUnit",
    "UnknownWorkflow",
    "WorkflowError",
    "__version__",
    "load_settings",
]
