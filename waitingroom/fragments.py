"""Fragments: the pieces of HTML a page is built from and a socket or re-fetch replaces (cards,
status panels, chat messages, table rows). They are Jinja2 templates under fragments/, rendered with
autoescape on, so every value is escaped unless a template says otherwise; full pages stay Django
templates (templates/) and take fragments already rendered, through `{% fragment %}`
(waitingroom/templatetags/fragments.py). Jinja2 because a clinic's board holds up to 1,000 cards and
Django's template engine cost 150 ms for them where Jinja2 costs about 30 (docs/performance.md,
scenario 6).
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

import jinja2
from django.http import HttpRequest
from django.template import engines
from django.templatetags.static import static
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.html import json_script
from markupsafe import Markup


def url(name: str, *args: Any) -> str:
    return reverse(name, args=args)


def date(value: datetime | None, fmt: str, tz: str | None = None) -> str:
    """Django's `date` filter, in the time zone named `tz` (a clinic's) or the current one."""
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value, zoneinfo.ZoneInfo(tz) if tz else None)
    return dateformat.format(value, fmt)


def linebreaksbr(value: str) -> Markup:
    """Django's `linebreaksbr`: the text escaped, its line breaks as <br>."""
    return Markup("<br>").join(str(value).replace("\r\n", "\n").split("\n"))


def environment(**options: Any) -> jinja2.Environment:
    # Strict: a name missing from the context fails loudly instead of rendering as nothing (the
    # backend's default, or as itself with DEBUG on).
    # Escaping is on whatever the settings say.
    options["undefined"] = jinja2.StrictUndefined
    options.pop("autoescape", None)
    env = jinja2.Environment(autoescape=True, **options)
    env.globals.update(url=url, static=static)
    env.filters.update(date=date, linebreaksbr=linebreaksbr, json_script=json_script)
    return env


def render_fragment(name: str, context: dict[str, Any], request: HttpRequest | None = None) -> Markup:
    """The fragment rendered, as markup a Django page or another fragment puts in unescaped: every
    value in it went through Jinja2's autoescape. With `request`, `csrf_input` is available."""
    template = engines["fragments"].get_template(name)
    return Markup(template.render(context, request))  # noqa: S704 - autoescaped output
