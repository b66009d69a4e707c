"""The web app (``followup web``): a shell over the use cases, as the CLI and the daemon are.

``create_app(runtime)`` builds the Starlette application; ``web.common`` holds what pages share,
``web.auth`` signing in, ``web.pages`` the board and the lists, ``web.project`` the project page and its
forms, ``web.requests`` extension and hold requests and their approval, ``web.evidence`` attachments.
"""

from followup.web.app import create_app

__all__ = ["create_app"]
