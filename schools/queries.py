"""Reads of the school register: search, filter options, the school detail (API) and the school page.

Views and the API only validate input, call these functions and render. Writes to the register are the
importers' (`schools/importers/`). Partnership data is reached through reverse relations and by model label
("partnerships.Partnership"): `schools` imports nothing from the layers above it (see docs/CONVENTIONS.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.cache import cache
from django.db.models import (
    Case,
    CharField,
    F,
    IntegerField,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from schoolpartners.params import is_id
from schoolpartners.regions import english_region
from schools import search
from schools.history import LinkedSchool, link_chain
from schools.measures import MEASURES
from schools.models import (
    CensusRecord,
    Inspection,
    NationalAverage,
    Phase,
    Result,
    School,
    SchoolLink,
    Status,
)
from schools.results import PRIMARY_PHASES, SECONDARY_PHASES, ResultTable, result_tables

FULL_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})$")
POSTCODE_DISTRICT = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")

SORTS = {
    "name": "name",
    "urn": "urn",
    "town": "town",
    "la": "la_name",
    "region": "region_name",
    "phase": "phase",
    "type": "establishment_type",
    "status": "status",
    "ofsted": "ofsted_rating",
    "ofsted_date": "ofsted_date",
    "pupils": "pupils",
}

NULLABLE_SORTS = {"pupils", "ofsted_date"}


@dataclass
class SearchParams:
    q: str = ""
    phase: str = ""
    establishment_type: str = ""
    type_group: str = ""
    status: str = ""
    ofsted: str = ""
    trust: int | None = None
    la: str = ""
    region: str = ""
    sort: str = "name"
    descending: bool = False
    page: int = 1
    page_size: int = 50
    measures: list[tuple[str, int]] = field(default_factory=list)  # (measure code, year) columns to show


def normalise_postcode(text: str) -> str:
    m = FULL_POSTCODE.match(text.strip().upper())
    return f"{m.group(1)} {m.group(2)}" if m else text.strip().upper()


def query_filter(q: str) -> Q:
    """Interpret a free-text query the way the DfE performance tables do.

    A URN, LAESTAB or LA code, and a full postcode, match their indexed columns exactly. Other text is matched
    through the search index (schools/search.py): every word must start a word of the school's name, other
    name, town, postcode or postcode district, punctuation and case ignored; a postcode district ("HU5")
    matches whole words only. A query that is exactly the name of a local authority or region also matches its
    schools (resolved against the stored names, so the filter stays an indexed equality)."""
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
    terms = search.query_terms(text)
    if not terms:
        return Q(pk__in=[])
    return Q(urn__in=text_match(text))


def text_match(text: str) -> RawSQL:
    """The search-index subquery for a (non-id, non-postcode) text query, with the schools of a local
    authority or region named exactly by the query."""
    terms = search.query_terms(text)
    also = {"la_name": _la_names(text), "region_name": _region_names(text)}
    return search.match_sql(terms, prefix=not POSTCODE_DISTRICT.match(text.strip().upper()), also=also)


def is_text_only(text: str) -> bool:
    """True when `query_filter(text)` is just the search-index subquery (not an id or postcode)."""
    t = text.strip()
    return bool(t) and not is_id(t) and not FULL_POSTCODE.match(t.upper()) and bool(search.query_terms(t))


def _la_names(text: str) -> list[str]:
    wanted = text.strip().lower()
    return [v for v in _distinct_cached("la_name") if v.lower() == wanted]


def _region_names(text: str) -> list[str]:
    """Stored sub-region names equal to `text` or inside the English region named `text` (case-insensitive)."""
    wanted = text.strip().lower()
    return [r for r in _distinct_cached("region_name") if wanted in (r.lower(), english_region(r).lower())]


def region_filter(text: str) -> Q:
    """Match a stored sub-region exactly, or every sub-region of one of the nine English regions."""
    return Q(region_name__in=_region_names(text))


def search_rank(q: str) -> Case | None:
    """0 for an exact URN/LAESTAB or postcode, 1 for an exact name (punctuation and case ignored), 2 else."""
    text = q.strip()
    if not text:
        return None
    whens = []
    if is_id(text):
        whens += [When(urn=int(text), then=Value(0)), When(laestab=int(text), then=Value(0))]
    elif FULL_POSTCODE.match(text.upper()):
        whens.append(When(postcode=normalise_postcode(text), then=Value(0)))
    name = search.normalise(text)
    if name:
        whens.append(When(search_name=name, then=Value(1)))
    return Case(*whens, default=Value(2), output_field=IntegerField()) if whens else None


def search_schools(params: SearchParams) -> tuple[QuerySet[School], int]:
    """Filter, annotate and sort schools; returns (page of schools, total count)."""
    qs = filter_schools(params)
    total = qs.count()
    qs = annotate_and_sort(qs, params, use_index=total > SMALL_RESULT)
    start = max(params.page - 1, 0) * params.page_size
    return qs[start : start + params.page_size], total


def search_all(params: SearchParams) -> QuerySet[School]:
    """The whole sorted, annotated result of a search (every page), e.g. for an export."""
    return annotate_and_sort(filter_schools(params), params)


def filter_schools(params: SearchParams) -> QuerySet[School]:
    """Schools matching the query and filters of `params` (no annotation, no order)."""
    qs = School.objects.filter(query_filter(params.q))
    if params.phase:
        qs = qs.filter(phase=params.phase)
    if params.establishment_type:
        qs = qs.filter(establishment_type=params.establishment_type)
    if params.type_group:
        qs = qs.filter(type_group=params.type_group)
    if params.status:
        qs = qs.filter(status=params.status)
    if params.ofsted:
        qs = qs.filter(ofsted_rating=params.ofsted)
    if params.trust:
        qs = qs.filter(memberships__partnership_id=params.trust, memberships__left__isnull=True)
    if params.la:
        qs = (
            qs.filter(la_name__iexact=params.la)
            if not is_id(params.la)
            else qs.filter(la_code=int(params.la))
        )
    if params.region:
        qs = qs.filter(region_filter(params.region))
    return qs


# Below this many matches a search sorts the matches themselves rather than walking the sort column's index:
# with a selective free-text query (LIKE '%term%' cannot use an index) SQLite otherwise walks the whole name
# index in order looking for 50 matches, which for a town with 7 schools reads all 51,000 rows out of order
# (measured 40-90 ms per page instead of ~20 ms; see bench/README.md).
SMALL_RESULT = 2000


def annotate_and_sort(
    qs: QuerySet[School], params: SearchParams, use_index: bool = True, sort_only: bool = False
) -> QuerySet[School]:
    """Add `pupils` (latest census) and one `m_<code>_<year>` per requested measure, then sort by `params`.

    `use_index=False` sorts text columns by an expression no index serves (same order), for small results;
    `sort_only=True` adds only the annotation the order needs (for a list of URNs)."""
    if not sort_only or params.sort == "pupils":
        latest_census = CensusRecord.objects.filter(school=OuterRef("pk")).order_by("-year")
        qs = qs.annotate(pupils=Subquery(latest_census.values("nor")[:1]))
    for code, year in params.measures:
        if code in MEASURES and (not sort_only or params.sort == f"m_{code}_{year}"):
            sub = Result.objects.filter(school=OuterRef("pk"), measure=code, year=year).values("value")[:1]
            qs = qs.annotate(**{f"m_{code}_{year}": Subquery(sub)})

    sort_field = SORTS.get(params.sort)
    if sort_field is None and params.sort.startswith("m_"):
        sort_field = params.sort if any(params.sort == f"m_{c}_{y}" for c, y in params.measures) else None
    sort_field = sort_field or "name"
    rank = search_rank(params.q) if sort_field == "name" and not params.descending else None
    if sort_field in NULLABLE_SORTS or sort_field.startswith("m_"):
        order = (
            F(sort_field).desc(nulls_last=True) if params.descending else F(sort_field).asc(nulls_last=True)
        )
    elif sort_field != "urn" and not use_index:  # same order, but the planner sorts the few matches
        expr = Coalesce(F(sort_field), Value(""), output_field=CharField())
        order = expr.desc() if params.descending else expr.asc()
    else:  # text columns are never NULL: a plain ORDER BY lets the database walk the column's index
        order = F(sort_field).desc() if params.descending else F(sort_field).asc()
    if rank is not None:  # a text query sorted by name: exact URN, postcode or name first
        return qs.annotate(search_rank=rank).order_by("search_rank", order, "urn")
    return qs.order_by(order, "urn")


# --- Read services behind the school detail (page and API) -------------------------------------------------

CENSUS_FIELDS = [
    "school_type",
    "nor",
    "nor_girls",
    "nor_boys",
    "pct_girls",
    "pct_boys",
    "sen_ehcp",
    "pct_sen_ehcp",
    "sen_support",
    "pct_sen_support",
    "eal",
    "english_first",
    "language_unclassified",
    "pct_eal",
    "pct_english_first",
    "pct_language_unclassified",
    "fsm",
    "fsm_ever",
    "nor_fsm_ever",
    "pct_fsm_ever",
    "source",
]


def _measure_order(code: str) -> int:
    try:
        return list(MEASURES).index(code)
    except ValueError:
        return len(MEASURES)


def result_rows(urn: int, year: int | None = None, key_stage: int | None = None) -> list[dict[str, Any]]:
    """One row per stored result of a school (year, measure, label, value, note, text, national), sorted by
    year then catalogue order. Suppressed values stay None with their code in `note` (never 0)."""
    qs = Result.objects.filter(school_id=urn)
    if year is not None:
        qs = qs.filter(year=year)
    if key_stage is not None:
        qs = qs.filter(measure__in=[c for c, m in MEASURES.items() if m.key_stage == key_stage])
    rows = list(qs.values("year", "measure", "value", "note", "text"))
    if not rows:
        return []
    years = {r["year"] for r in rows}
    codes = {r["measure"] for r in rows}
    national = {
        (n["year"], n["measure"]): n["value"]
        for n in NationalAverage.objects.filter(year__in=years, measure__in=codes).values(
            "year", "measure", "value"
        )
    }
    out: list[dict[str, Any]] = []
    for r in rows:
        measure = MEASURES.get(r["measure"])
        nat = national.get((r["year"], r["measure"]))
        if nat is None and measure is not None and measure.national_zero:
            nat = 0.0
        out.append(
            {
                "year": r["year"],
                "measure": r["measure"],
                "label": measure.label if measure else r["measure"],
                "key_stage": measure.key_stage if measure else None,
                "value": r["value"],
                "note": r["note"],
                "text": r["text"],
                "national": nat,
            }
        )
    out.sort(key=lambda r: (r["year"], _measure_order(r["measure"])))
    return out


def results_by_year(
    urn: int, year: int | None = None, key_stage: int | None = None
) -> dict[int, dict[str, dict[str, Any]]]:
    """{year: {measure: {"value", "note", "text", "national"}}} in year and catalogue order."""
    by_year: dict[int, dict[str, dict[str, Any]]] = {}
    for r in result_rows(urn, year=year, key_stage=key_stage):
        by_year.setdefault(r["year"], {})[r["measure"]] = {
            "value": r["value"],
            "note": r["note"],
            "text": r["text"],
            "national": r["national"],
        }
    return by_year


def school_links(urn: int) -> dict[str, list[dict[str, Any]]]:
    """GIAS predecessor/successor links of a school, split by direction; `in_register` tells whether the linked
    URN is a school we hold (links may point at establishments outside the register)."""
    links: list[dict[str, Any]] = [
        dict(lk)
        for lk in SchoolLink.objects.filter(urn=urn)
        .order_by("established", "link_urn")
        .values("link_urn", "link_name", "link_type", "established", "source")
    ]
    known = set(School.objects.filter(urn__in=[lk["link_urn"] for lk in links]).values_list("urn", flat=True))
    out: dict[str, list[dict[str, Any]]] = {"predecessors": [], "successors": [], "other": []}
    for lk in links:
        lk["in_register"] = lk["link_urn"] in known
        kind = str(lk["link_type"]).lower()
        key = (
            "predecessors"
            if kind.startswith("predecessor")
            else "successors"
            if kind.startswith("successor")
            else "other"
        )
        out[key].append(lk)
    return out


@dataclass
class SchoolDetail:
    school: School
    inspections: list[dict[str, Any]]  # newest first
    census: dict[int, dict[str, Any]]  # by year
    memberships: list[dict[str, Any]]  # current first
    links: dict[str, list[dict[str, Any]]]  # predecessors / successors / other
    results: dict[int, dict[str, dict[str, Any]]]  # see results_by_year


def school_detail(urn: int) -> SchoolDetail | None:
    """Everything known about one school as plain data (None if the URN is not in the register): the School,
    its inspections (newest first), census by year, trust memberships, links and results by year."""
    school = School.objects.filter(urn=urn).first()
    if school is None:
        return None
    inspections: list[dict[str, Any]] = [
        dict(i)
        for i in Inspection.objects.filter(school_id=urn).order_by("-date").values("date", "rating", "source")
    ]
    census = {
        c["year"]: {k: c[k] for k in CENSUS_FIELDS}
        for c in CensusRecord.objects.filter(school_id=urn).order_by("year").values("year", *CENSUS_FIELDS)
    }
    # partnerships.Membership rows, through the reverse relation
    memberships = [
        {
            "partnership_id": m["partnership_id"],
            "name": m["partnership__name"],
            "kind": m["partnership__kind"],
            "external_id": m["partnership__external_id"],
            "joined": m["joined"],
            "left": m["left"],
            "current": m["left"] is None,
            "source": m["source"],
        }
        for m in school.memberships.all()
        .order_by("left", "-joined")
        .values(
            "partnership_id",
            "partnership__name",
            "partnership__kind",
            "partnership__external_id",
            "joined",
            "left",
            "source",
        )
    ]
    return SchoolDetail(
        school=school,
        inspections=inspections,
        census=census,
        memberships=memberships,
        links=school_links(urn),
        results=results_by_year(urn),
    )


# --- Web pages: search filter options, result columns and the school page ------------------------------------

OPTIONS_TTL = 600  # seconds the distinct filter option lists and latest-year lookups are cached

OFSTED_ORDER = [
    "Outstanding",
    "Good",
    "Requires improvement",
    "Requires Improvement",
    "Satisfactory",
    "Inadequate",
]

# Measure columns shown in search results, by the phase filter (latest year that has values for each).
SEARCH_MEASURES: dict[str, list[str]] = {
    "primary": ["PTRWM_EXP", "READPROG", "WRITPROG", "MATPROG"],
    "secondary": ["P8MEA", "ATT8SCR", "PTL2BASICS_95"],
    "": ["PTRWM_EXP", "P8MEA", "ATT8SCR"],
}


def _distinct(field_name: str) -> list[str]:
    return list(
        School.objects.exclude(**{field_name: ""})
        .order_by(field_name)
        .values_list(field_name, flat=True)
        .distinct()
    )


def _distinct_cached(field_name: str) -> list[str]:
    key = f"schools:distinct:{field_name}"
    values = cache.get(key)
    if values is None:
        values = _distinct(field_name)
        cache.set(key, values, OPTIONS_TTL)
    return values


def filter_options() -> dict[str, list[tuple[str, str]]]:
    """Choices for the search filters: the distinct values present in the register (cached)."""
    key = "schools:filter-options:v1"
    options = cache.get(key)
    if options is None:
        phases = set(_distinct("phase"))
        statuses = set(_distinct("status"))
        ratings = _distinct("ofsted_rating")
        rank = {r.lower(): i for i, r in enumerate(OFSTED_ORDER)}
        ratings.sort(key=lambda r: (rank.get(r.lower(), 99), r))
        options = {
            "phase": [(v, label) for v, label in Phase.choices if v in phases],
            "establishment_type": [(v, v) for v in _distinct("establishment_type")],
            "status": [(v, label) for v, label in Status.choices if v in statuses],
            "ofsted": [(v, v) for v in ratings],
            "la": [(v, v) for v in _distinct_cached("la_name")],
            "region": [
                (r, r) for r in sorted({english_region(v) for v in _distinct_cached("region_name")} - {""})
            ]
            + [(v, f"{v} (DfE sub-region)") for v in _distinct_cached("region_name")],
        }
        cache.set(key, options, OPTIONS_TTL)
    return options


def latest_result_year(code: str) -> int | None:
    """The latest academic year in which any school has a value for `code` (cached; index-only lookup)."""
    key = f"schools:latest-year:v1:{code}"
    year = cache.get(key)
    if year is None:
        found = (
            Result.objects.filter(measure=code, value__isnull=False)
            .order_by("-year")
            .values_list("year", flat=True)
            .first()
        )
        year = found or 0
        cache.set(key, year, OPTIONS_TTL)
    return year or None


def search_measure_columns(phase: str) -> list[tuple[str, int]]:
    """(measure, year) columns for search results: KS2 measures for primary, KS4 for secondary, both otherwise."""
    group = "primary" if phase in PRIMARY_PHASES else "secondary" if phase in SECONDARY_PHASES else ""
    columns = []
    for code in SEARCH_MEASURES[group]:
        year = latest_result_year(code)
        if year:
            columns.append((code, year))
    return columns


# Trusts are partnerships (a higher layer): reached by model label, never imported.
TRUST_KIND = "mat"  # partnerships.Kind.MAT


def _partnership_model() -> type[Model]:
    return apps.get_model("partnerships", "Partnership")


def find_trusts(name: str, limit: int = 20) -> list[Any]:
    """Multi-academy trusts (partnerships.Partnership) whose name contains `name`."""
    text = name.strip()
    if not text:
        return []
    return list(
        _partnership_model()
        ._default_manager.filter(kind=TRUST_KIND, name__icontains=text)
        .order_by("name")[:limit]
    )


def get_trust(trust_id: int | None) -> Any:
    """The partnerships.Partnership with id `trust_id` (None when absent or unknown)."""
    if not trust_id:
        return None
    return _partnership_model()._default_manager.filter(pk=trust_id).first()


@dataclass
class SchoolPage:
    school: School
    census: list[CensusRecord]
    results: list[ResultTable]
    inspections: list[Inspection]
    trusts: list[Any]  # current partnerships.Membership rows (with .partnership), by trust name
    predecessors: list[LinkedSchool]
    successors: list[LinkedSchool]

    @property
    def latest_census(self) -> CensusRecord | None:
        return self.census[0] if self.census else None


def result_years() -> dict[int, list[int]]:
    """Years for which national figures exist, per key stage (the columns of the results tables; cached)."""
    key = "schools:result-years:v1"
    years = cache.get(key)
    if years is None:
        by_ks: dict[int, set[int]] = {2: set(), 4: set()}
        for measure, year in NationalAverage.objects.values_list("measure", "year").distinct():
            m = MEASURES.get(measure)
            if m is not None:
                by_ks.setdefault(m.key_stage, set()).add(year)
        years = {ks: sorted(ys) for ks, ys in by_ks.items()}
        cache.set(key, years, OPTIONS_TTL)
    return years


def school_page(urn: int) -> SchoolPage | None:
    """Everything the school page shows, in a fixed small number of queries (None for an unknown URN)."""
    school = School.objects.filter(urn=urn).first()
    if school is None:
        return None
    predecessors, successors = link_chain(urn)
    return SchoolPage(
        school=school,
        census=list(CensusRecord.objects.filter(school_id=urn).order_by("-year")),
        results=result_tables(school, result_years()),
        inspections=list(Inspection.objects.filter(school_id=urn).order_by("-date")),
        trusts=list(
            school.memberships.filter(left__isnull=True)
            .select_related("partnership")
            .order_by("partnership__name")
        ),
        predecessors=predecessors,
        successors=successors,
    )


def search_page(params: SearchParams) -> tuple[list[School], int]:
    """One page of a search and the total (schools/finder.py: served by the search index)."""
    from schools.finder import search_page as page

    return page(params)
