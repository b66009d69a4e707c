"""Fixtures for the web app in-process: the app over a real database, a browser-like client per
official, signed in through the same use cases the sign-in link uses."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from followup.app import access, organisation
from followup.app.runtime import Runtime
from followup.web import create_app
from tests.county import SMALL
from tests.helpers import make_runtime

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(page: str) -> str:
    """The CSRF token of a page's forms."""
    found = CSRF_RE.search(page)
    assert found, "the page has no form token"
    return found.group(1)


class Browser:
    """A client with its own cookies, as one official's browser."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.client = TestClient(create_app(rt), base_url="http://testserver", follow_redirects=True)

    def sign_in(self, key: str) -> Browser:
        """Sign in as the official ``key`` (the sign-in link made and used through app.access)."""
        made = access.request_sign_in(self.rt, f"{key}@example.gov.cn")
        assert made is not None
        self.client.cookies.set("fu_session", access.redeem_sign_in(self.rt, made.secret))
        return self

    def get(self, path: str, **kwargs: object):  # type: ignore[no-untyped-def]
        return self.client.get(path, **kwargs)

    def post_form(self, page: str, action: str, data: dict[str, str], **kwargs: object):  # type: ignore[no-untyped-def]
        """Post ``data`` to ``action`` with the CSRF token of the page at ``page``."""
        token = csrf_of(self.client.get(page).text)
        return self.client.post(action, data={"csrf": token, **data}, **kwargs)


@pytest.fixture
def web_rt(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime over a database with the small county, its clock stopped (tests.helpers.NOW)."""
    rt = make_runtime(db_url, tmp_path)
    SMALL.seed(rt)
    yield rt
    rt.close()


@pytest.fixture
def browser(web_rt: Runtime) -> Callable[[], Browser]:
    """Make a fresh browser (cookies of its own) over ``web_rt``."""
    return lambda: Browser(web_rt)


@pytest.fixture
def operator_rt(web_rt: Runtime) -> Runtime:
    """The small county with the bureau's operator (caozuo)."""
    organisation.add_official(
        web_rt, "caozuo", name="操作员", email="caozuo@example.gov.cn", unit="bureau", roles=("operator",)
    )
    return web_rt


@pytest.fixture
def op(operator_rt: Runtime, browser: Callable[[], Browser]) -> Browser:
    """A browser signed in as the operator."""
    return browser().sign_in("caozuo")
