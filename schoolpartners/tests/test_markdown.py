"""The kernel Markdown renderer (markdown-it-py) used by pages built from docs/*.md."""

from __future__ import annotations

from django.test import Client

from schoolpartners.markdown import markdown_to_html, slugify_heading

DOC = """# Top

## 2. Population & scope

Some **bold**, *em* and `code <x>`.

| phase | schools |
|---|--:|
| primary | 16,769 |

> Inset
> text

- one
- two

1. first

Para

    indented code <b>

<script>alert("x")</script> and <b>inline</b> tags
"""


def test_headings_get_govuk_classes_and_anchor_ids() -> None:
    html = markdown_to_html(DOC)
    assert '<h1 class="govuk-heading-l" id="top">Top</h1>' in html
    assert '<h2 class="govuk-heading-m" id="2-population-scope">2. Population &amp; scope</h2>' in html
    assert slugify_heading("9. Constants (σ)") == "9-constants"


def test_tables_lists_and_paragraphs_carry_govuk_classes() -> None:
    html = markdown_to_html(DOC)
    assert '<div class="sp-table-scroll" tabindex="0"><table class="govuk-table">' in html
    assert '<th class="govuk-table__header" scope="col">phase</th>' in html
    assert '<td style="text-align:right" class="govuk-table__cell">16,769</td>' in html
    assert '<tr class="govuk-table__row">' in html and '<tbody class="govuk-table__body">' in html
    assert '<ul class="govuk-list govuk-list--bullet">\n<li>one</li>' in html
    assert '<ol class="govuk-list govuk-list--number">' in html
    assert (
        '<p class="govuk-body">Some <strong>bold</strong>, <em>em</em> and <code>code &lt;x&gt;</code>.</p>'
        in html
    )
    assert '<div class="govuk-inset-text">\n<p class="govuk-body">Inset\ntext</p>\n</div>' in html
    assert '<pre class="sp-code"><code>indented code &lt;b&gt;</code></pre>' in html


def test_raw_html_is_escaped() -> None:
    html = markdown_to_html(DOC)
    assert "<script" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; and &lt;b&gt;inline&lt;/b&gt; tags" in html


def test_methodology_page_renders_tables_and_headings(client: Client, db: None) -> None:
    html = client.get("/similarity/methodology/").content.decode()
    assert '<h2 class="govuk-heading-m" id="1-in-plain-words">1. In plain words</h2>' in html
    assert (
        '<table class="govuk-table">' in html
        and '<th class="govuk-table__header" scope="col">phase</th>' in html
    )
    assert '<td class="govuk-table__cell"><strong>14,436</strong></td>' in html
