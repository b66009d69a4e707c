"""The one exception tree of followup.

Every error the library raises on purpose derives from :class:`FollowupError`; the CLI maps them to
one line on stderr and the class's exit code, in one place (``cli.main``)::

    FollowupError                       exit 1
    ├── ConfigError                     exit 2   bad setting or environment variable
    ├── InvalidInput                    exit 2   a value the user typed is malformed
    ├── WorkflowError                   exit 3   a workflow file is malformed (names file, key, line)
    │   └── UnknownWorkflow             exit 3
    ├── NotFound                        exit 4
    │   ├── UnknownProject
    │   ├── UnknownOfficial
    │   └── UnknownUnit
    ├── Conflict                        exit 5
    │   ├── DuplicateKey
    │   ├── StillReferenced
    │   └── ConcurrentUpdate            someone else changed the row meanwhile
    ├── MoveRefused                     exit 6   the lifecycle does not allow this move
    │   └── GuardFailed                 a required field is missing
    ├── StoreError                      exit 7   the database is unreachable or not initialised
    │   └── NotInitialised
    ├── DeliveryError                   exit 8   mail could not be handed over (kept, retried)
    │   ├── NotTried                    the connection failed before the message was tried
    │   └── OutcomeUnknown              the server took the data but never confirmed it
    └── AccessDenied                    exit 9   the web app: not signed in, or not allowed
        └── LinkRefused                 a sign-in or action link is expired, altered or used

A class's docstring is its default message.
"""

from __future__ import annotations

from followup.i18n import _


def default_message(cls: type) -> str:
    """A class's docstring, in the user's language: its default message."""
    return _((cls.__doc__ or "").strip())


class FollowupError(Exception):
    """followup failed"""

    exit_code = 1

    def __init__(self, message: str | None = None) -> None:
        self.message = message or default_message(type(self))
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class ConfigError(FollowupError):
    """the configuration is invalid"""

    exit_code = 2


class InvalidInput(FollowupError):
    """a value given is invalid"""

    exit_code = 2


class WorkflowError(FollowupError):
    """a workflow file is invalid"""

    exit_code = 3

    def __init__(
        self,
        message: str | None = None,
        *,
        file: str | None = None,
        key: str | None = None,
        line: int | None = None,
    ) -> None:
        self.file = file
        self.key = key
        self.line = line
        self.detail = message or default_message(type(self))
        where = ""
        if file:
            where = file + (f":{line}" if line else "") + ": "
        if key:
            where += f"{key}: "
        super().__init__(where + self.detail)


class UnknownWorkflow(WorkflowError):
    """no workflow of that name"""


class NotFound(FollowupError):
    """not found"""

    exit_code = 4


class UnknownProject(NotFound):
    """no such project"""


class UnknownOfficial(NotFound):
    """no such official"""


class UnknownUnit(NotFound):
    """no such unit"""


class Conflict(FollowupError):
    """the change conflicts with what is stored"""

    exit_code = 5


class DuplicateKey(Conflict):
    """that key is already taken"""


class StillReferenced(Conflict):
    """the record is still referenced and cannot be removed"""


class ConcurrentUpdate(Conflict):
    """someone else changed this record at the same time; nothing was written: run the command again"""


class MoveRefused(FollowupError):
    """the lifecycle does not allow this move"""

    exit_code = 6


class GuardFailed(MoveRefused):
    """the target stage requires fields that are not recorded"""


class StoreError(FollowupError):
    """the database failed"""

    exit_code = 7


class NotInitialised(StoreError):
    """the database is not initialised (or is out of date): run `followup init`"""


class DeliveryError(FollowupError):
    """mail could not be delivered"""

    exit_code = 8

    def __init__(self, message: str | None = None, *, permanent: bool = False) -> None:
        #: permanent: retrying the same message cannot help (e.g. the server refused the address)
        self.permanent = permanent
        super().__init__(message)


class NotTried(DeliveryError):
    """the message was not tried: the connection to the mail server failed first"""

    # Not the message's fault: it keeps its attempts (only a refusal of the message itself counts).


class OutcomeUnknown(DeliveryError):
    """the mail server took the message but its reply never came: it may have been delivered"""


class AccessDenied(FollowupError):
    """you may not do this"""

    exit_code = 9


class LinkRefused(AccessDenied):
    """this link is expired, altered or already used: ask for a new one"""
