"""Markdown -> GOV.UK-styled HTML for pages rendered from docs/*.md (e.g. the similarity methodology).

CommonMark plus tables (markdown-it-py). Raw HTML in the Markdown is escaped, never passed through
(`html=False`), so the result is safe to mark safe. Renderer rules add the GOV.UK Frontend classes and give
each heading an id (its slug) so pages can link to a section.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

__all__ = ["markdown_to_html", "slugify_heading"]

#: Heading level -> GOV.UK class (h4 and deeper are small headings).
HEADING_CLASSES = {1: "govuk-heading-l", 2: "govuk-heading-m", 3: "govuk-heading-s"}

#: Opening tag -> GOV.UK class added by the renderer.
TAG_CLASSES = {
    "paragraph_open": "govuk-body",
    "table_open": "govuk-table",
    "thead_open": "govuk-table__head",
    "tbody_open": "govuk-table__body",
    "tr_open": "govuk-table__row",
    "th_open": "govuk-table__header",
    "td_open": "govuk-table__cell",
    "bullet_list_open": "govuk-list govuk-list--bullet",
    "ordered_list_open": "govuk-list govuk-list--number",
}


def slugify_heading(text: str) -> str:
    """The anchor id of a heading: lower case, runs of anything but a-z/0-9 become one hyphen."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _add_class(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    if not (token.type == "paragraph_open" and token.hidden):  # tight-list items have hidden paragraphs
        token.attrJoin("class", TAG_CLASSES[token.type])
    if token.type == "th_open":
        token.attrSet("scope", "col")
    return self.renderToken(tokens, idx, options, env)


def _heading_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    level = int(token.tag[1:])
    token.attrJoin("class", HEADING_CLASSES.get(level, "govuk-heading-s"))
    inline = tokens[idx + 1]
    token.attrSet("id", slugify_heading(inline.content))
    return self.renderToken(tokens, idx, options, env)


def _table_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return '<div class="sp-table-scroll" tabindex="0">' + _add_class(self, tokens, idx, options, env)


def _table_close(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return self.renderToken(tokens, idx, options, env) + "</div>\n"


def _blockquote_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return '<div class="govuk-inset-text">\n'


def _blockquote_close(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return "</div>\n"


def _code(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    token.attrJoin("class", "sp-code")
    return f"<pre{self.renderAttrs(token)}><code>{escapeHtml(token.content.rstrip())}</code></pre>\n"


def _link_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    tokens[idx].attrJoin("class", "govuk-link")
    return self.renderToken(tokens, idx, options, env)


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    rules: dict[str, Any] = {
        **dict.fromkeys(TAG_CLASSES, _add_class),
        "heading_open": _heading_open,
        "table_open": _table_open,
        "table_close": _table_close,
        "blockquote_open": _blockquote_open,
        "blockquote_close": _blockquote_close,
        "code_block": _code,
        "fence": _code,
        "link_open": _link_open,
    }
    for name, rule in rules.items():
        md.add_render_rule(name, rule)
    return md


_MD = _parser()


def markdown_to_html(text: str) -> SafeString:
    """Render Markdown (CommonMark + tables) as GOV.UK-styled HTML; raw HTML in `text` is escaped."""
    return mark_safe(_MD.render(text))  # noqa: S308 - html=False: markdown-it escapes all raw HTML and text
