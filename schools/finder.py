"""One page of a school search and its total, served by the search index (schools/search.py).

- No free-text query: an indexed COUNT and a LIMIT query (`queries.search_schools`).
- A text query: with no other filter the number of matches is counted in the full-text index itself (FTS5 /
  GIN), never by a scan of the register. A selective query (at most `SMALL_RESULT` matches) lists its
  matches' URNs in rank and sort order in one query (exact URN, postcode or name first, then the rest) and
  fetches only the page's schools with their annotations. A broad query ("school": 41,000 matches) puts the
  schools named exactly so first (an indexed equality), then walks the sort column's index and stops after
  the page.
"""

from __future__ import annotations

from dataclasses import replace

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from schools import queries, search
from schools.models import School
from schools.queries import SMALL_RESULT, SearchParams

FILTERS = ("phase", "establishment_type", "type_group", "status", "ofsted", "trust", "la", "region")


def index_count(params: SearchParams) -> int | None:
    """Matches of a plain text query counted in the full-text index (None with other filters or for an id or
    postcode query; a local authority or region named by the query is part of the index's subquery)."""
    if any(getattr(params, f) for f in FILTERS) or not queries.is_text_only(params.q):
        return None
    match = queries.text_match(params.q)
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM ({match.sql}) AS m", list(match.params))  # noqa: S608
        return int(cur.fetchone()[0])


def search_page(params: SearchParams) -> tuple[list[School], int]:
    if not params.q.strip():
        page, total = queries.search_schools(params)
        return list(page), total
    counted = index_count(params)
    if counted is None or counted <= SMALL_RESULT:
        found = _selective(params)
        if found is not None:
            return found
    return _broad(params, counted)


def _fetch(params: SearchParams, urns: list[int]) -> list[School]:
    if not urns:
        return []
    by_urn = {s.urn: s for s in queries.annotate_and_sort(School.objects.filter(urn__in=urns), params)}
    return [by_urn[u] for u in urns if u in by_urn]


def _selective(params: SearchParams) -> tuple[list[School], int] | None:
    """All matches' URNs in order (one query), then the page's schools; None if there are too many."""
    ordered = queries.annotate_and_sort(
        queries.filter_schools(params), params, use_index=False, sort_only=True
    )
    urns = list(ordered.values_list("urn", flat=True)[: SMALL_RESULT + 1])
    if len(urns) > SMALL_RESULT:
        return None
    start = max(params.page - 1, 0) * params.page_size
    return _fetch(params, urns[start : start + params.page_size]), len(urns)


def _broad(params: SearchParams, counted: int | None) -> tuple[list[School], int]:
    """Many matches: exact name matches first (indexed equality), then the rest in sort order by index walk."""
    base: QuerySet[School] = queries.filter_schools(params)
    total = counted if counted is not None else base.count()
    name = search.normalise(params.q)
    ranked = queries.search_rank(params.q) is not None and params.sort == "name" and not params.descending
    head: list[int] = []
    if ranked and name:
        exact = (
            School.objects.filter(search_name=name) if counted is not None else base.filter(search_name=name)
        )
        head = list(exact.order_by("name", "urn").values_list("urn", flat=True)[:SMALL_RESULT])
    rest = base
    if counted is not None and connection.vendor == "sqlite":
        # `+urn` keeps SQLite from probing all 41,000 matches by primary key and sorting them: it walks the
        # sort column's index instead and probes the (materialised) matches until the page is full.
        match = queries.text_match(params.q)
        walk = f"+schools_school.urn IN ({match.sql})"
        rest = School.objects.filter(RawSQL(walk, match.params, output_field=BooleanField()))
    if head:
        rest = rest.exclude(urn__in=head)
    start = max(params.page - 1, 0) * params.page_size
    end = start + params.page_size
    page_urns = head[start:end]
    need = params.page_size - len(page_urns)
    if need > 0:
        offset = max(start - len(head), 0)
        plain = replace(params, q="")  # the sort alone: the exact matches are already in front
        tail = queries.annotate_and_sort(rest, plain, sort_only=True).values_list("urn", flat=True)[
            offset : offset + need
        ]
        page_urns += list(tail)
    return _fetch(params, page_urns), total
