"""Render a notification from its Jinja2 templates: (subject, plain text, HTML).

Each kind of notification has three files, looked up first in the county's ``template_dir`` (a file
there replaces the shipped one of the same name) and then in the shipped ``notifications/`` folder:

* ``{kind}.subject.j2`` — one line (surrounding whitespace is stripped; a line break is refused);
* ``{kind}.txt.j2`` — the text/plain part, not escaped;
* ``{kind}.html.j2`` — the text/html part, autoescaped (HTML in a project name comes out as text).

Undefined names fail loudly (``StrictUndefined``): a typo in a template, or a context that lacks a key,
is a :class:`~followup.errors.ConfigError` naming the template, never a mail with a blank in it.
The context each kind gets is described in ``notifications/README.md``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from followup.errors import ConfigError
from followup.i18n import _
from followup.paths import shipped_dir
from followup.settings import Settings

#: The kinds shipped with followup: the ladder levels, staleness, hold expiry (暂缓到期), the consolidated
#: and the weekly mails.
KINDS = ("blue", "yellow", "red", "top", "stale", "hold", "several", "digest", "stranded")
_KIND_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@lru_cache(maxsize=8)
def environment(template_dir: Path | None) -> jinja2.Environment:
    """The Jinja2 environment for a county folder (or none): its files first, then the shipped ones."""
    loaders: list[jinja2.BaseLoader] = []
    if template_dir is not None:
        loaders.append(jinja2.FileSystemLoader(template_dir, encoding="utf-8"))
    loaders.append(jinja2.FileSystemLoader(shipped_dir("notifications"), encoding="utf-8"))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def _render_one(env: jinja2.Environment, name: str, context: Mapping[str, Any]) -> str:
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateNotFound as exc:
        raise ConfigError(
            _("mail template {missing} not found (needed by {name})").format(
                missing=exc.name or name, name=name
            )
        ) from exc
    # Below, Jinja2's and Python's own words (English) say what is wrong.
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or exc.name or name
        raise ConfigError(
            _("mail template {name}: {problem}").format(name=f"{where}:{exc.lineno}", problem=exc.message)
        ) from exc
    except jinja2.TemplateError as exc:  # UndefinedError and the like: a typo or a missing key
        raise ConfigError(
            _("mail template {name}: {problem}").format(name=name, problem=exc.message or exc)
        ) from exc
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise ConfigError(
            _("mail template {name}: {problem}").format(name=name, problem=f"{type(exc).__name__}: {exc}")
        ) from exc


def render(kind: str, context: Mapping[str, Any], settings: Settings) -> tuple[str, str, str]:
    """Render ``kind`` with ``context``: ``(subject, text, html)``.

    Raises :class:`ConfigError` naming the template when a file is missing, malformed, uses a name the
    context does not have, or the subject is not one line.
    """
    if not _KIND_RE.match(kind):
        raise ConfigError(
            _("bad notification kind {kind!r}; shipped kinds: {kinds}").format(
                kind=kind, kinds=", ".join(KINDS)
            )
        )
    env = environment(settings.template_dir)
    subject = _render_one(env, f"{kind}.subject.j2", context).strip()
    if "\n" in subject or "\r" in subject:
        raise ConfigError(
            _("mail template {name}: the subject must be one line").format(name=f"{kind}.subject.j2")
        )
    if not subject:
        raise ConfigError(_("mail template {name}: the subject is empty").format(name=f"{kind}.subject.j2"))
    text = _render_one(env, f"{kind}.txt.j2", context).strip() + "\n"
    html = _render_one(env, f"{kind}.html.j2", context).strip() + "\n"
    return subject, text, html


def has_kind(kind: str, settings: Settings) -> bool:
    """Whether templates exist for ``kind`` (a county may add some for its own ladder levels)."""
    if not _KIND_RE.match(kind):
        return False
    try:
        environment(settings.template_dir).get_template(f"{kind}.subject.j2")
    except jinja2.TemplateNotFound:
        return False
    return True
