"""Markup typed into every field a fragment shows, and what it must look like once escaped
(Jinja2's markupsafe writes a double quote as &#34;)."""

from html.parser import HTMLParser

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.add(tag)


def assert_escaped(html: str, times: int) -> None:
    """`HOSTILE` shows `times` times in `html`, escaped, and never became a tag."""
    parser = _Tags()
    parser.feed(str(html))
    assert "img" not in parser.tags and "<script>alert" not in str(html), html
    assert str(html).count(ESCAPED) == times, html
