"""`{% fragment "visits/_board.html" sections=sections %}`: a Django page puts in a Jinja2 fragment
(waitingroom/fragments.py), rendered with the page's request so forms in it get their CSRF input."""

from __future__ import annotations

from typing import Any

from django import template
from markupsafe import Markup

from waitingroom.fragments import render_fragment

register = template.Library()


@register.simple_tag(takes_context=True)
def fragment(context: template.Context, name: str, **values: Any) -> Markup:
    return render_fragment(name, values, request=context.get("request"))
