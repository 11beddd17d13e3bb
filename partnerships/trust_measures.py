"""Reads for "is this trust good?": the DfE trust measures of the latest MAT files, as stored by the importer
(`PartnershipResult`, codes `KS2_...`/`KS4_...`), turned into plain-words figures by the pure
`partnerships.dfe_measures`. Nothing here writes."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Max, Q

from partnerships import dfe_measures as dm
from partnerships.models import Kind, Partnership, PartnershipResult
from schools.measures import academic_year_label

MAX_PICKS = 6
TRUST_ID = re.compile(r"^TR\d{5}$", re.I)


ENGLAND_BASIS = (
    "pupil-weighted average of every trust in the DfE trust file (the files hold no figure for all schools "
    "in England): each trust's value weighted by its pupils at the end of the key stage, or by its "
    "disadvantaged / other pupils for those groups"
)


def partnership(pk: int) -> Partnership | None:
    return Partnership.objects.filter(pk=pk).first()


def latest_year() -> int | None:
    return PartnershipResult.objects.filter(measure__in=list(dm.CODES)).aggregate(y=Max("year"))["y"]


def _stored(
    year: int, partnership_ids: list[int] | None = None
) -> tuple[dict[int, dict[str, float | None]], dict[int, dict[str, str]]]:
    qs = PartnershipResult.objects.filter(year=year, measure__in=sorted(dm.needed_codes()))
    if partnership_ids is not None:
        qs = qs.filter(partnership_id__in=partnership_ids)
    values: dict[int, dict[str, float | None]] = defaultdict(dict)
    notes: dict[int, dict[str, str]] = defaultdict(dict)
    for pid, code, value, note in qs.values_list("partnership_id", "measure", "value", "note").iterator(
        chunk_size=5000
    ):
        if value is not None:
            values[pid][code] = value
        elif note:
            notes[pid][code] = note
    return values, notes


@dataclass
class Context:
    """Every trust's stored values of one year and the references (England, median, distribution) per code."""

    year: int
    values: dict[int, dict[str, float | None]]
    notes: dict[int, dict[str, str]]
    refs: dict[str, dm.Reference]

    @property
    def academic_year(self) -> str:
        return academic_year_label(self.year)


def context(year: int | None = None) -> Context | None:
    year = year or latest_year()
    if year is None:
        return None
    values, notes = _stored(year)
    return Context(year, values, notes, dm.references(values.values()))


@dataclass
class TrustMeasures:
    year: int
    academic_year: str
    figures: list[dm.Figure]
    summary: dm.Summary
    summary_disadvantaged: dm.Summary
    chart: dm.Chart
    england_trusts: dict[int, int] = field(default_factory=dict)  # key stage -> trusts weighed into England
    england_pupils: dict[int, int] = field(default_factory=dict)
    not_published: tuple[str, ...] = dm.NOT_PUBLISHED

    @property
    def shown(self) -> list[dm.Figure]:
        """Figures for the page: all pupils and disadvantaged pupils (other pupils are in the downloads)."""
        return [f for f in self.figures if f.group != "other"]


def for_trust(partnership: Partnership, ctx: Context | None = None) -> TrustMeasures | None:
    """A trust's figures, summary and chart; None when the trust has no DfE trust measures."""
    ctx = ctx if ctx is not None else context()
    if ctx is None:
        return None
    pid = partnership.pk
    figs = dm.figures(ctx.values.get(pid, {}), ctx.notes.get(pid, {}), ctx.refs)
    if not figs:
        return None
    england_trusts, england_pupils = {}, {}
    for ks in (2, 4):
        m = next(m for m in dm.MEASURES if m.key_stage == ks)
        ref = ctx.refs[m.code()]
        england_trusts[ks], england_pupils[ks] = ref.england_trusts, ref.england_pupils
    return TrustMeasures(
        year=ctx.year,
        academic_year=ctx.academic_year,
        figures=figs,
        summary=dm.summarise(figs, "all"),
        summary_disadvantaged=dm.summarise(figs, "disadvantaged"),
        chart=dm.strip_chart([f for f in figs if f.group != "other"], ctx.refs),
        england_trusts=england_trusts,
        england_pupils=england_pupils,
    )


def figure_row(f: dm.Figure, year: int) -> dict[str, Any]:
    """A figure as a flat row for downloads and the API (codes kept here)."""
    return {
        "key": f.measure.key,
        "code": f.code,
        "key_stage": f.measure.key_stage,
        "label": f.measure.label,
        "description": f.measure.description_for(f.group),
        "group": f.group,
        "group_label": f.group_label,
        "unit": f.measure.unit,
        "year": year,
        "academic_year": academic_year_label(year),
        "value": f.value,
        "note": f.note,
        "pupils": f.pupils,
        "low": f.low,
        "high": f.high,
        "interval_note": f.interval_note,
        "england": f.england,
        "difference": f.difference,
        "verdict": f.verdict,
        "median": f.median,
        "percentile": f.percentile,
        "higher_than": f.higher_than,
        "trusts": f.trusts,
    }


# ---------------------------------------------------------------------------------------------------------------
# Compare trusts side by side
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Picks:
    trusts: list[Partnership]
    unmatched: list[str]  # terms matching no trust
    ambiguous: dict[str, list[Partnership]]  # term -> the trusts it could mean (first few)
    dropped: int = 0  # beyond MAX_PICKS


def split_terms(text: str) -> list[str]:
    """Names or DfE ids, one per line or separated by commas or semicolons; blanks and repeats dropped."""
    out: list[str] = []
    for part in re.split(r"[\n,;]+", text or ""):
        t = " ".join(part.split())[:100]
        if t and t.lower() not in {o.lower() for o in out}:
            out.append(t)
    return out[:20]


def resolve(text: str) -> Picks:
    """Each term as one MAT: a DfE id (TR01234), an exact name, else the one name containing it."""
    picks = Picks([], [], {})
    mats = Partnership.objects.filter(kind=Kind.MAT)
    for term in split_terms(text):
        if TRUST_ID.match(term):
            found = list(mats.filter(external_id__iexact=term)[:1])
        else:
            found = list(mats.filter(name__iexact=term)[:2]) or list(
                mats.filter(Q(name__icontains=term)).order_by("name")[:6]
            )
        if len(found) > 1:
            starts = [p for p in found if p.name.lower().startswith(term.lower())]
            found = starts if len(starts) == 1 else found
        if not found:
            picks.unmatched.append(term)
        elif len(found) > 1:
            picks.ambiguous[term] = found
        elif found[0].pk not in {p.pk for p in picks.trusts}:
            picks.trusts.append(found[0])
    picks.dropped = max(0, len(picks.trusts) - MAX_PICKS)
    picks.trusts = picks.trusts[:MAX_PICKS]
    return picks


@dataclass
class Cell:
    value: float | None
    low: float | None = None
    high: float | None = None
    verdict: str = ""
    percentile: float | None = None
    note: str = ""


@dataclass
class SideBySideRow:
    measure: dm.Measure
    group: str
    england: float | None
    median: float | None
    trusts: int
    cells: list[Cell]

    @property
    def group_label(self) -> str:
        return dm.GROUP_LABELS[self.group]


def side_by_side(trusts: list[Partnership], ctx: Context | None = None) -> list[SideBySideRow]:
    """Per measure and group (all, disadvantaged): England, the median trust, then each picked trust."""
    ctx = ctx if ctx is not None else context()
    if ctx is None:
        return []
    per_trust = {
        p.pk: {f.code: f for f in dm.figures(ctx.values.get(p.pk, {}), ctx.notes.get(p.pk, {}), ctx.refs)}
        for p in trusts
    }
    rows = []
    for m in dm.MEASURES:
        for g in ("all", "disadvantaged"):
            ref = ctx.refs[m.code(g)]
            cells = []
            for p in trusts:
                f = per_trust[p.pk].get(m.code(g))
                cells.append(
                    Cell(f.value, f.low, f.high, f.verdict, f.percentile, f.note) if f else Cell(None)
                )
            rows.append(SideBySideRow(m, g, ref.england, ref.median, ref.trusts, cells))
    return rows


def side_by_side_rows(trusts: list[Partnership], ctx: Context | None = None) -> list[dict[str, Any]]:
    """The side-by-side table flat, one row per measure, group and trust (England and the median on each)."""
    ctx = ctx if ctx is not None else context()
    out: list[dict[str, Any]] = []
    for r in side_by_side(trusts, ctx):
        for p, c in zip(trusts, r.cells, strict=True):
            out.append(
                {
                    "trust": p.name,
                    "trust_id": p.external_id,
                    "code": r.measure.code(r.group),
                    "label": r.measure.label,
                    "group_label": r.group_label,
                    "year": ctx.year if ctx else None,
                    "value": c.value,
                    "note": c.note,
                    "low": c.low,
                    "high": c.high,
                    "verdict": c.verdict,
                    "percentile": c.percentile,
                    "england": r.england,
                    "median": r.median,
                    "trusts": r.trusts,
                }
            )
    return out
