"""Baseline for bench_render.py: the school search as it was before the search index (issue 13), kept here
(never in the app) so the render benchmark can time both in the same run.

Free text was `icontains` (LIKE '%term%') on name, other name and town, OR an exact LA or region name; the page
was a COUNT(*) and a LIMIT query, each a scan of the register for a text query."""

from __future__ import annotations

from dataclasses import replace

from django.db.models import Q

from schoolpartners.params import is_id
from schools import queries
from schools.models import School
from schools.queries import FULL_POSTCODE, POSTCODE_DISTRICT, SMALL_RESULT, SearchParams, normalise_postcode


def like_filter(q: str) -> Q:
    text = q.strip()
    if not text:
        return Q()
    upper = text.upper()
    if is_id(text):
        number = int(text)
        if len(text) == 7:
            return Q(laestab=number) | Q(urn=number)
        return Q(urn=number) | Q(la_code=number) if len(text) == 3 else Q(urn=number)
    if FULL_POSTCODE.match(upper):
        return Q(postcode=normalise_postcode(upper))
    if POSTCODE_DISTRICT.match(upper):
        return Q(postcode_district=upper) | Q(name__icontains=text) | Q(town__iexact=text)
    return (
        Q(name__icontains=text)
        | Q(other_name__icontains=text)
        | Q(town__icontains=text)
        | Q(la_name__iexact=text)
        | queries.region_filter(text)
    )


def like_search_page(params: SearchParams) -> tuple[list[School], int]:
    plain = replace(params, q="")
    qs = queries.filter_schools(plain).filter(like_filter(params.q))
    total = qs.count()
    qs = queries.annotate_and_sort(qs, plain, use_index=total > SMALL_RESULT)
    start = max(params.page - 1, 0) * params.page_size
    return list(qs[start : start + params.page_size]), total
