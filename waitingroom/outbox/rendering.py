"""Every email is a pair of templates rendered with one context: `<name>.txt` holds the subject
(its `subject` block) and the plain-text part (its `text` block), `<name>.html` the HTML part.

The HTML part escapes everything, as every Django template does. The text part is rendered with
autoescape off (plain text shows `<b>`, never `&lt;b&gt;`); templates need not remember to turn it
off. The subject becomes one line: a line break in a header would be refused by the mail backend or,
worse, start a new header.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.template import Context, Engine
from django.template.base import Template
from django.template.loader_tags import BlockNode


@dataclass(frozen=True)
class EmailContent:
    """What the outbox stores and sends: the subject, the plain-text body and its HTML twin."""

    subject: str
    text: str
    html: str = ""


def render_email(name: str, context: Mapping[str, Any]) -> EmailContent:
    """Render `<name>.txt` and `<name>.html` (e.g. "scheduling/requests/emails/declined")."""
    engine = Engine.get_default()  # the project's DjangoTemplates engine (settings.TEMPLATES)
    text_template = engine.get_template(f"{name}.txt")
    subject = " ".join(_block(text_template, "subject", context).splitlines()).strip()
    text = _block(text_template, "text", context)
    # The layout shows the subject as the HTML document's title.
    html = engine.get_template(f"{name}.html").render(Context({**context, "subject": subject}))
    return EmailContent(subject=subject, text=text, html=html)


def _block(template: Template, name: str, context: Mapping[str, Any]) -> str:
    """One `{% block %}` of a template, rendered alone with autoescape off."""
    for node in template.nodelist.get_nodes_by_type(BlockNode):
        if isinstance(node, BlockNode) and node.name == name:
            bound = Context(dict(context), autoescape=False)
            # What Template.render() sets up before rendering its nodes, so tags inside the block
            # (include, url, csrf...) find their template and render state.
            with bound.render_context.push_state(template), bound.bind_template(template):
                return node.render(bound)
    raise LookupError(f"{template.name} has no {{% block {name} %}}")
