"""Server-side inline SVG charts for the similarity pages (no JavaScript), and a small Markdown renderer for the
methodology page.

Charts are accessible: `role="img"`, a `<title>` and `<desc>` referenced by `aria-labelledby`, and every value is
also written as text in the chart and in the table printed beside it. Series are told apart by line style and
direct labels, not by colour alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

GREEN, RED, GREY, BLUE, BLACK = "#00703c", "#d4351c", "#505a5f", "#1d70b8", "#0b0c0c"
FLAG_COLOUR = {"strength": GREEN, "weakness": RED, "none": GREY}


def _n(x: float) -> str:
    return f"{x:.1f}"


@dataclass(frozen=True)
class Bar:
    label: str
    z: float | None
    flag: str  # strength | weakness | none


def zscore_chart(bars: Sequence[Bar], chart_id: str, title: str, limit: float = 3.0) -> SafeString:
    """Horizontal bars of z-scores around a zero axis (values beyond ±limit are clipped and marked)."""
    label_w, plot_w, value_w, row_h, top = 300, 320, 150, 30, 30
    width = label_w + plot_w + value_w
    height = top + row_h * max(len(bars), 1) + 30
    zero = label_w + plot_w / 2
    scale = (plot_w / 2) / limit
    desc_parts = []
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sp-chart" role="img" font-family="GDS Transport, arial, sans-serif" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px" aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    body = []
    for t in range(-int(limit), int(limit) + 1):
        x = zero + t * scale
        stroke, sw = (BLACK, 2) if t == 0 else ("#b1b4b6", 1)
        body.append(
            f'<line x1="{_n(x)}" y1="{top - 6}" x2="{_n(x)}" y2="{height - 24}" stroke="{stroke}" stroke-width="{sw}"/>'
            f'<text x="{_n(x)}" y="{height - 8}" text-anchor="middle" font-size="13" fill="{BLACK}">'
            f"{'0' if t == 0 else f'{t:+d}'}</text>"
        )
    body.append(
        f'<text x="{_n(zero)}" y="16" text-anchor="middle" font-size="13" fill="{BLACK}">'
        "z-score within the family (below the family mean ← 0 → above)</text>"
    )
    for i, b in enumerate(bars):
        y = top + i * row_h
        body.append(
            f'<text x="{label_w - 8}" y="{y + row_h / 2 + 5:.1f}" text-anchor="end" font-size="14" '
            f'fill="{BLACK}">{escape(b.label[:44])}</text>'
        )
        if b.z is None:
            body.append(
                f'<text x="{_n(zero + 6)}" y="{y + row_h / 2 + 5:.1f}" font-size="13" fill="{GREY}">no z-score</text>'
            )
            desc_parts.append(f"{b.label}: no z-score")
            continue
        z = max(-limit, min(limit, b.z))
        x0, x1 = (zero, zero + z * scale) if z >= 0 else (zero + z * scale, zero)
        colour = FLAG_COLOUR.get(b.flag, GREY)
        body.append(
            f'<rect x="{_n(x0)}" y="{y + 6}" width="{_n(max(x1 - x0, 1))}" height="{row_h - 12}" fill="{colour}"/>'
        )
        clipped = " (beyond the scale)" if abs(b.z) > limit else ""
        flag = "" if b.flag == "none" else f", {b.flag}"
        body.append(
            f'<text x="{label_w + plot_w + 8}" y="{y + row_h / 2 + 5:.1f}" font-size="14" fill="{BLACK}">'
            f"z = {b.z:+.2f}{escape(flag)}</text>"
        )
        desc_parts.append(f"{b.label}: z = {b.z:+.2f}{flag}{clipped}")
    parts.append(f'<desc id="{chart_id}-desc">{escape("; ".join(desc_parts) or "No measures")}.</desc>')
    parts.extend(body)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every label is escaped above


@dataclass(frozen=True)
class Series:
    label: str
    points: Mapping[int, float | None]  # radius -> percent
    colour: str = BLUE
    dash: str = ""  # SVG stroke-dasharray ("" solid)


def coverage_chart(series: Sequence[Series], chart_id: str, title: str, max_x: int = 100) -> SafeString:
    """Coverage (%) against radius (miles): one line per series with markers and a direct label."""
    left, right, top, bottom = 60, 230, 20, 50
    pw, ph = 480, 280
    width, height = left + pw + right, top + ph + bottom

    def px(r: float) -> float:
        return left + pw * r / max_x

    def py(p: float) -> float:
        return top + ph * (1 - p / 100)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sp-chart" role="img" font-family="GDS Transport, arial, sans-serif" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px" aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    desc = []
    for s in series:
        text = ", ".join(f"{r} miles {p:.1f}%" for r, p in sorted(s.points.items()) if p is not None)
        desc.append(f"{s.label}: {text}")
    parts.append(f'<desc id="{chart_id}-desc">{escape("; ".join(desc))}.</desc>')
    for p in range(0, 101, 20):
        y = py(p)
        parts.append(
            f'<line x1="{left}" y1="{_n(y)}" x2="{left + pw}" y2="{_n(y)}" stroke="#b1b4b6" stroke-width="1"/>'
            f'<text x="{left - 8}" y="{_n(y + 5)}" text-anchor="end" font-size="13" fill="{BLACK}">{p}%</text>'
        )
    radii = sorted({r for s in series for r in s.points})
    for r in radii:
        parts.append(
            f'<text x="{_n(px(r))}" y="{top + ph + 20}" text-anchor="middle" font-size="13" fill="{BLACK}">{r}</text>'
        )
    parts.append(
        f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="{BLACK}" stroke-width="1.5"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="{BLACK}" stroke-width="1.5"/>'
        f'<text x="{left + pw / 2}" y="{height - 8}" text-anchor="middle" font-size="14" fill="{BLACK}">'
        "Radius (miles)</text>"
    )
    label_ys: list[float] = []
    for s in series:
        pts: list[tuple[int, float]] = [(r, p) for r, p in sorted(s.points.items()) if p is not None]
        if not pts:
            continue
        path = " ".join(f"{'M' if i == 0 else 'L'}{_n(px(r))},{_n(py(p))}" for i, (r, p) in enumerate(pts))
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        parts.append(f'<path d="{path}" fill="none" stroke="{s.colour}" stroke-width="3"{dash}/>')
        for rx, pc in pts:
            parts.append(f'<circle cx="{_n(px(rx))}" cy="{_n(py(pc))}" r="4" fill="{s.colour}"/>')
        # direct label at the end of the line, nudged apart from the previous labels
        ly = py(pts[-1][1]) + 5
        for other in label_ys:
            if abs(ly - other) < 16:
                ly = other + 16
        label_ys.append(ly)
        parts.append(
            f'<text x="{left + pw + 10}" y="{_n(ly)}" font-size="13" fill="{BLACK}">'
            f"{escape(s.label)} {pts[-1][1]:.1f}%</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every label is escaped above


# ---------------------------------------------------------------------------------------------------------------
# Minimal Markdown (headings, paragraphs, lists, tables, code blocks, block quotes, inline code/bold/italic)
# ---------------------------------------------------------------------------------------------------------------
_HEADING = {1: "govuk-heading-l", 2: "govuk-heading-m", 3: "govuk-heading-s"}


def _inline(text: str) -> str:
    out = []
    for i, chunk in enumerate(re.split(r"(`[^`]*`)", text)):
        if i % 2:
            out.append(f"<code>{escape(chunk[1:-1])}</code>")
            continue
        t = str(escape(chunk))
        t = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)
        t = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", t)
        out.append(t)
    return "".join(out)


def markdown_to_html(md: str) -> SafeString:
    lines = md.splitlines()
    html: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        m = re.match(r"^(#{1,4})\s+(.*)$", line)
        if m:
            level = len(m.group(1))
            tag = f"h{min(level, 4)}"
            slug = re.sub(r"[^a-z0-9]+", "-", m.group(2).lower()).strip("-")
            html.append(
                f'<{tag} class="{_HEADING.get(level, "govuk-heading-s")}" id="{slug}">{_inline(m.group(2))}</{tag}>'
            )
            i += 1
            continue
        if line.startswith("    "):
            block = []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                block.append(lines[i][4:])
                i += 1
            html.append(f'<pre class="sp-code"><code>{escape(chr(10).join(block).rstrip())}</code></pre>')
            continue
        if line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            head, body = rows[0], [r for r in rows[1:] if not all(re.fullmatch(r":?-+:?", c) for c in r)]
            th = "".join(f'<th scope="col" class="govuk-table__header">{_inline(c)}</th>' for c in head)
            trs = "".join(
                '<tr class="govuk-table__row">'
                + "".join(f'<td class="govuk-table__cell">{_inline(c)}</td>' for c in r)
                + "</tr>"
                for r in body
            )
            html.append(
                '<div class="sp-table-scroll"><table class="govuk-table"><thead class="govuk-table__head">'
                f'<tr class="govuk-table__row">{th}</tr></thead><tbody class="govuk-table__body">{trs}</tbody></table></div>'
            )
            continue
        if line.startswith(">"):
            block = []
            while i < len(lines) and lines[i].startswith(">"):
                block.append(lines[i].lstrip("> ").strip())
                i += 1
            html.append(f'<div class="govuk-inset-text">{_inline(" ".join(block))}</div>')
            continue
        if re.match(r"^(\s*)([-*]|\d+\.)\s+", line):
            ordered = bool(re.match(r"^\s*\d+\.", line))
            items: list[str] = []
            while i < len(lines) and lines[i].strip():
                item = re.match(r"^\s*([-*]|\d+\.)\s+(.*)$", lines[i])
                if item:
                    items.append(item.group(2))
                elif items:
                    items[-1] += " " + lines[i].strip()
                i += 1
            tag, cls = (
                ("ol", "govuk-list govuk-list--number")
                if ordered
                else ("ul", "govuk-list govuk-list--bullet")
            )
            html.append(
                f'<{tag} class="{cls}">' + "".join(f"<li>{_inline(t)}</li>" for t in items) + f"</{tag}>"
            )
            continue
        para = []
        while (
            i < len(lines)
            and lines[i].strip()
            and not re.match(r"^(#|\||>|\s*[-*]\s|\s*\d+\.\s|    )", lines[i])
        ):
            para.append(lines[i].strip())
            i += 1
        if not para:  # a line no rule took: print it as text
            para.append(lines[i].strip())
            i += 1
        html.append(f'<p class="govuk-body">{_inline(" ".join(para))}</p>')
    return mark_safe("\n".join(html))  # noqa: S308 - text is escaped in _inline
