"""README bodies as safe HTML: Markdown rendered by markdown-it-py, then sanitised by nh3 (Ammonia).

Raw HTML in the Markdown is escaped, not passed through (``html=False``), and the rendered HTML is cleaned
against an allow-list anyway: no scripts, styles, event handlers or ``javascript:`` URLs survive. Headings
move two levels down (``#`` becomes ``<h3>``) so a README never competes with the page's own headings.
Relative links and images that name a file of the version point at that file's download URL.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

HEADING_SHIFT = 2
TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead",
    "tr", "ul",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}

_markdown = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def _shift_headings(tokens: list) -> None:
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + HEADING_SHIFT)}"


def file_links(files: set[str], url_of: Callable[[str], str]) -> Callable[[str, str, str], str | None]:
    """An nh3 attribute filter: a relative ``href``/``src`` naming one of ``files`` becomes its URL."""

    def rewrite(tag: str, attribute: str, value: str) -> str | None:
        if (tag, attribute) not in (("a", "href"), ("img", "src")):
            return value
        parts = urlsplit(value)
        if parts.scheme or parts.netloc or not parts.path or value.startswith(("/", "#")):
            return value
        path = posixpath.normpath(unquote(parts.path))
        return url_of(path) if path in files else value

    return rewrite


def render_markdown(text: str, link_filter: Callable[[str, str, str], str | None] | None = None) -> Markup:
    """``text`` (Markdown) as sanitised HTML, safe to put in a page as it is."""
    tokens = _markdown.parse(text or "")
    _shift_headings(tokens)
    html = _markdown.renderer.render(tokens, _markdown.options, {})
    clean = nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        attribute_filter=link_filter,
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above
